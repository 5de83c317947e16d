package sim

import (
	"fmt"
	"time"

	"pingan/gateway/gb28181/manscdp"
	"pingan/gateway/gb28181/ptz"
)

// onMessage answers a MANSCDP body the platform sent (after the 200 OK):
// queries get a <Response> MESSAGE, DeviceControl is logged and acted on
// (GB/T 28181-2016 §9.3, A.2; gb28181.md §5–§8).
func (d *device) onMessage(body []byte) {
	m, err := manscdp.Parse(body)
	if err != nil {
		d.log.Warn("bad MANSCDP body", "err", err)
		return
	}
	target := m.DeviceID
	if target == "" {
		target = d.id
	}
	var docs []*manscdp.Node
	switch {
	case m.Kind == manscdp.KindQuery && m.CmdType == manscdp.CmdCatalog:
		docs = manscdp.CatalogResponses(m.SN, d.id, d.catalog(), d.cfg.CatalogPageSize)
	case m.Kind == manscdp.KindQuery && m.CmdType == manscdp.CmdDeviceInfo:
		docs = append(docs, manscdp.DeviceInfoResponse(m.SN, target, manscdp.DeviceInfo{
			DeviceName: d.cfg.Name, Manufacturer: "Pingan", Model: "gbsim", Firmware: "1.0", Channel: len(d.channels),
		}))
	case m.Kind == manscdp.KindQuery && m.CmdType == manscdp.CmdDeviceStatus:
		docs = append(docs, manscdp.DeviceStatusResponse(m.SN, target, manscdp.DeviceStatus{
			DeviceTime: time.Now().Format(manscdp.TimeLayout),
		}))
	case m.Kind == manscdp.KindControl && m.CmdType == manscdp.CmdDeviceControl:
		if d.control(m, target) {
			docs = append(docs, manscdp.ResultResponse(m.CmdType, m.SN, target, true))
		}
	case m.Kind == manscdp.KindQuery:
		docs = append(docs, manscdp.ResultResponse(m.CmdType, m.SN, target, true)) // polite to unknown queries
	default:
		d.log.Debug("MESSAGE ignored", "kind", m.Kind, "cmd", m.CmdType)
	}
	for _, doc := range docs { // pages in order, each after the previous 200 (gb28181.md §6)
		if err := d.send(d.ctx, doc); err != nil {
			d.log.Warn("answer failed", "cmd", m.CmdType, "sn", m.SN, "err", err)
			return
		}
	}
}

// control acts on a DeviceControl; it reports whether the command wants a
// <Response> (GB/T 28181-2016 A.2.3: PTZ, TeleBoot and IFameCmd do not).
func (d *device) control(m *manscdp.Message, target string) bool {
	if cmd := m.Value("PTZCmd"); cmd != "" {
		c, err := ptz.Decode(cmd)
		if err != nil {
			d.log.Warn("bad PTZCmd", "channel", target, "cmd", cmd, "err", err)
		} else {
			d.log.Info("PTZ", "channel", target, "action", c.Action(), "cmd", c.String())
		}
	}
	if m.Value("IFameCmd") != "" {
		ss := d.u.channelSessions(d, target)
		for _, s := range ss {
			s.requestKeyframe()
		}
		d.log.Info("keyframe requested", "channel", target, "sessions", len(ss))
	}
	if m.Value("TeleBoot") != "" {
		d.log.Info("reboot requested (ignored)", "device", target)
	}
	for _, k := range []string{"RecordCmd", "GuardCmd", "AlarmCmd", "HomePosition"} {
		if v := m.Value(k); v != "" {
			d.log.Info("control", "channel", target, k, v)
			return true
		}
	}
	return false
}

// catalog lists the channels: names with Chinese characters (one outside
// GB2312), the civil code, positions spread around Taiyuan.
func (d *device) catalog() []manscdp.CatalogItem {
	items := make([]manscdp.CatalogItem, len(d.channels))
	for k, ch := range d.channels {
		n := d.index*len(d.channels) + k
		items[k] = manscdp.CatalogItem{
			DeviceID: ch, Name: fmt.Sprintf("%s-通道%d", d.cfg.Name, k+1),
			Manufacturer: "Pingan", Model: "gbsim", Owner: "Owner", CivilCode: d.cfg.CivilCode,
			Address: "喆园路" + fmt.Sprint(k+1) + "号", Parental: 0, ParentID: d.id, RegisterWay: 1,
			Status: "ON", Longitude: 112.5489 + float64(n%100)*0.001, Latitude: 37.8706 + float64(n/100%100)*0.001,
			PTZType: 1,
		}
	}
	return items
}
