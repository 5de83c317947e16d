package gb28181

import (
	"context"
	"testing"
	"time"
)

// fuzzBodies seed FuzzSIPHandlers: every kind of body the MESSAGE and
// NOTIFY handlers act on, plus broken ones.
var fuzzBodies = []string{
	string(keepaliveBody("34020000001180000001", 1)),
	catalogXML("Response", "7", "34020000001180000001", 2, testItem{id: "34020000001310000001", name: "东门", civil: "340200", status: "ON"}),
	catalogXML("Notify", "8", "34020000001180000001", 3,
		testItem{id: "34020000001310000001", event: "OFF"}, testItem{id: "34020000001310000002", event: "DEL"},
		testItem{id: "34020000001310000003", name: "n", event: "ADD"}),
	`<?xml version="1.0" encoding="GB2312"?><Response><CmdType>DeviceInfo</CmdType><SN>1</SN><DeviceID>34020000001180000001</DeviceID><Result>OK</Result></Response>`,
	`<?xml version="1.0"?><Notify><CmdType>Alarm</CmdType><SN>88</SN><DeviceID>34020000001340000002</DeviceID><AlarmPriority>2</AlarmPriority></Notify>`,
	`<Notify><CmdType>MediaStatus</CmdType><SN>3</SN><NotifyType>121</NotifyType></Notify>`,
	`<Query><CmdType>Catalog</CmdType><SN>1</SN></Query>`,
	`<Notify><CmdType>Catalog</CmdType><DeviceList><Item><DeviceID>../../x</DeviceID><Event>ADD</Event></Item><Item><DeviceID></DeviceID></Item></DeviceList></Notify>`,
	"<Response><CmdType>Catalog</CmdType><SN>-1</SN><SumNum>99999999999</SumNum></Response>",
	"\x00\x00<Notify>",
	"",
	"<Notify><CmdType>Keepalive",
}

// FuzzSIPHandlers feeds random MANSCDP bodies through the MESSAGE/NOTIFY
// handler of a registered device: it must never panic.
func FuzzSIPHandlers(f *testing.F) {
	for _, b := range fuzzBodies {
		f.Add([]byte(b))
	}
	st := newMemStore()
	s, err := New(testConfig(5060, newFakeClock()), st, testLogger(f))
	if err != nil {
		f.Fatal(err)
	}
	dev := DeviceID("34020000001180000001")
	ctx := context.Background()
	seed := func() {
		_, _, err := s.reg.update(ctx, dev, func(d *Device, _ bool) error {
			d.Online, d.RemoteAddr, d.SIPTransport, d.Region = true, "127.0.0.1:5999", "udp", "3402"
			d.RegisteredAt, d.Expires = s.clock.Now(), 3600
			return nil
		})
		if err != nil {
			f.Fatal(err)
		}
	}
	seed()
	f.Fuzz(func(t *testing.T, body []byte) {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		in := inbound{from: dev, source: "127.0.0.1:6000", transport: "udp", body: body}
		_ = s.handleManscdp(ctx, in)
		in.from = "34020000001180000002" // unknown device
		_ = s.handleManscdp(ctx, in)
		_, _ = s.Channels(ctx, dev)
	})
}
