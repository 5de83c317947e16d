package gb28181

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

type testItem struct {
	id, name, civil, status, event string
}

// catalogXML composes one catalog page by hand (root Response or Notify).
func catalogXML(root, sn, dev string, sum int, items ...testItem) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"GB2312\"?>\r\n<%s>\r\n<CmdType>Catalog</CmdType>\r\n<SN>%s</SN>\r\n<DeviceID>%s</DeviceID>\r\n<SumNum>%d</SumNum>\r\n<DeviceList Num=\"%d\">\r\n", root, sn, dev, sum, len(items))
	for _, it := range items {
		fmt.Fprintf(&b, "<Item>\r\n<DeviceID>%s</DeviceID>\r\n", it.id)
		if it.event != "" {
			fmt.Fprintf(&b, "<Event>%s</Event>\r\n", it.event)
		}
		if it.name != "" {
			fmt.Fprintf(&b, "<Name>%s</Name>\r\n<Manufacturer>Hikvision</Manufacturer>\r\n<ParentID>%s</ParentID>\r\n<Longitude>104.0712</Longitude>\r\n<Latitude>30.6765</Latitude>\r\n<Info><PTZType>1</PTZType></Info>\r\n", it.name, dev)
		}
		if it.civil != "" {
			fmt.Fprintf(&b, "<CivilCode>%s</CivilCode>\r\n", it.civil)
		}
		if it.status != "" {
			fmt.Fprintf(&b, "<Status>%s</Status>\r\n", it.status)
		}
		b.WriteString("</Item>\r\n")
	}
	fmt.Fprintf(&b, "</DeviceList>\r\n</%s>\r\n", root)
	return b.String()
}

func gb18030(t *testing.T, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// catalogDevice is a UA that answers each Catalog query with the next
// script entry: a list of pages (sent in that order).
type catalogDevice struct {
	*testUA
	mu      sync.Mutex
	scripts [][][]testItem
	sums    []int
	queries int
}

func newCatalogDevice(t *testing.T, addr, id string) *catalogDevice {
	d := &catalogDevice{testUA: newUA(t, addr, id)}
	d.handle(func(ua *testUA, m *sipMsg) {
		ua.respond(m, 200, "")
		if m.method != "MESSAGE" || !strings.Contains(string(m.body), "<CmdType>Catalog</CmdType>") {
			return
		}
		d.mu.Lock()
		i := d.queries
		d.queries++
		var pages [][]testItem
		sum := 0
		if i < len(d.scripts) {
			pages, sum = d.scripts[i], d.sums[i]
		}
		d.mu.Unlock()
		sn := snOf(m.body)
		go func() {
			for _, p := range pages {
				ua.message(gb18030(t, catalogXML("Response", sn, id, sum, p...)))
			}
		}()
	})
	return d
}

func (d *catalogDevice) script(sum int, pages ...[]testItem) {
	d.mu.Lock()
	d.scripts = append(d.scripts, pages)
	d.sums = append(d.sums, sum)
	d.mu.Unlock()
}

func channelIDs(t *testing.T, ts *testServer, dev string) []string {
	t.Helper()
	cs, err := ts.Channels(t.Context(), DeviceID(dev))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range cs {
		ids = append(ids, string(c.ID)[17:])
	}
	return ids
}

func item(dev string, n int) testItem {
	return testItem{id: fmt.Sprintf("%s%03d", dev[:10]+"1310000", n), name: fmt.Sprintf("cam %d", n), status: "ON"}
}

func TestCatalogMultiPart(t *testing.T) {
	ts := startServer(t, nil)
	id := "34020000001180000001" // an NVR
	d := newCatalogDevice(t, ts.addr, id)
	i := func(n int) testItem { return item(id, n) }
	// After registration: 5 items, pages out of order, one item per page
	// too, duplicates, plus the NVR itself and a region that are not channels.
	d.script(7,
		[]testItem{i(3), i(4)},
		[]testItem{i(1)},
		[]testItem{i(3)},
		[]testItem{{id: id, name: "nvr"}, {id: "340200", name: "region"}},
		[]testItem{i(2), i(5)},
	)
	if res := d.register(3600); res.status != 200 {
		t.Fatal(res.status)
	}
	waitFor(t, "first sync", func() bool {
		dev, _ := ts.Device(t.Context(), DeviceID(id))
		return !dev.Synced.IsZero()
	})
	if got := channelIDs(t, ts, id); !slices.Equal(got, []string{"001", "002", "003", "004", "005"}) {
		t.Fatalf("channels %v", got)
	}
	if dev, _ := ts.Device(t.Context(), DeviceID(id)); dev.ChannelCount != 5 {
		t.Errorf("ChannelCount %d", dev.ChannelCount)
	}
	ch, dev, err := ts.Channel(t.Context(), DeviceID(i(4).id))
	if err != nil || dev.ID != DeviceID(id) || ch.StreamID != "gb/"+i(4).id || ch.PTZType != 1 || ch.Longitude != 104.0712 || !ch.Online {
		t.Fatalf("Channel: %+v %v %v", ch, dev.ID, err)
	}

	// A complete sync replaces the set.
	d.script(3, []testItem{i(6), i(1)}, []testItem{i(2)})
	res, err := ts.Catalog(t.Context(), DeviceID(id))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Complete || res.Channels != 3 || res.SumNum != 3 {
		t.Errorf("result %+v", res)
	}
	if got := channelIDs(t, ts, id); !slices.Equal(got, []string{"001", "002", "006"}) {
		t.Fatalf("after complete sync: %v", got)
	}
	if _, _, err := ts.Channel(t.Context(), DeviceID(i(4).id)); !errors.Is(err, ErrChannelNotFound) {
		t.Errorf("removed channel: %v", err)
	}

	// A partial one (SumNum not reached before CatalogTimeout of silence) merges.
	d.script(4, []testItem{i(7)}, []testItem{i(1)})
	start := time.Now()
	res, err = ts.Catalog(t.Context(), DeviceID(id))
	if err != nil {
		t.Fatal(err)
	}
	if res.Complete || res.Received != 2 || res.Channels != 4 {
		t.Errorf("partial result %+v", res)
	}
	if el := time.Since(start); el < 400*time.Millisecond {
		t.Errorf("partial catalog returned after %v, before the silence timeout", el)
	}
	if got := channelIDs(t, ts, id); !slices.Equal(got, []string{"001", "002", "006", "007"}) {
		t.Fatalf("after partial sync: %v", got)
	}

	// No answer at all.
	d.script(0)
	if _, err := ts.Catalog(t.Context(), DeviceID(id)); !errors.Is(err, ErrTimeout) {
		t.Errorf("silent device: %v, want ErrTimeout", err)
	}
	// SumNum 0 is an empty, complete catalog.
	d.mu.Lock()
	d.scripts[len(d.scripts)-1] = [][]testItem{nil}
	d.queries--
	d.mu.Unlock()
	res, err = ts.Catalog(t.Context(), DeviceID(id))
	if err != nil || !res.Complete || res.Channels != 0 {
		t.Errorf("empty catalog: %+v %v", res, err)
	}
}

// Names with characters outside GB2312 survive a GB18030 body declared
// GB2312, and a UTF-8 body that lies in its declaration; regions come from
// CivilCode, else from the id.
func TestCatalogCharsetAndRegion(t *testing.T) {
	ts := startServer(t, nil)
	id := "14010500001180000001"
	d := newCatalogDevice(t, ts.addr, id)
	rare := "东门卡口𠀀堃喆镕"
	d.script(2,
		[]testItem{{id: "14010500001310000001", name: rare, civil: "140106", status: "ON"}},
		[]testItem{{id: "14010700001310000002", name: "西门", status: "OFF"}},
	)
	if res := d.register(3600); res.status != 200 {
		t.Fatal(res.status)
	}
	waitFor(t, "sync", func() bool {
		dev, _ := ts.Device(t.Context(), DeviceID(id))
		return dev.ChannelCount == 2
	})
	c1, dev, err := ts.Channel(t.Context(), "14010500001310000001")
	if err != nil {
		t.Fatal(err)
	}
	if c1.Name != rare || c1.Region != "140106" || c1.CivilCode != "140106" {
		t.Errorf("channel 1: name %q region %q", c1.Name, c1.Region)
	}
	if dev.Region != "140105" {
		t.Errorf("device region %q", dev.Region)
	}
	c2, _, _ := ts.Channel(t.Context(), "14010700001310000002")
	if c2.Region != "140107" || c2.Online {
		t.Errorf("channel 2: region %q online %v", c2.Region, c2.Online)
	}

	// UTF-8 bytes under a GB2312 declaration, as a catalog notify.
	notify := catalogXML("Notify", "9", id, 1, testItem{id: "14010500001310000003", name: "北门" + rare, civil: "140105", event: "ADD", status: "ON"})
	if res := d.message([]byte(notify)); res.status != 200 {
		t.Fatal(res.status)
	}
	waitFor(t, "notify", func() bool {
		c, _, err := ts.Channel(t.Context(), "14010500001310000003")
		return err == nil && c.Name == "北门"+rare
	})
}

func TestCatalogNotify(t *testing.T) {
	ts := startServer(t, nil)
	id := "34020000001180000002"
	d := newCatalogDevice(t, ts.addr, id)
	i := func(n int) testItem { return item(id, n) }
	d.script(2, []testItem{i(1), i(2)})
	events := ts.Events(t.Context())
	if res := d.register(3600); res.status != 200 {
		t.Fatal(res.status)
	}
	waitFor(t, "sync", func() bool { return len(channelIDs(t, ts, id)) == 2 })
	sub := d.waitRequest("SUBSCRIBE", "<CmdType>Catalog</CmdType>", 5*time.Second)
	if sub.hdr.Get("Event") != "Catalog" || sub.hdr.Get("Expires") != "3600" {
		t.Errorf("SUBSCRIBE headers %v", sub.hdr)
	}
	body := catalogXML("Notify", "1", id, 3,
		testItem{id: i(1).id, event: "OFF"},
		testItem{id: i(2).id, event: "DEL"},
		testItem{id: i(3).id, name: "new", event: "ADD", status: "ON"},
	)
	if res := d.request("NOTIFY", "Event: Catalog\r\nSubscription-State: active\r\n", []byte(body), randomToken(8)); res.status != 200 {
		t.Fatal(res.status)
	}
	waitFor(t, "notify applied", func() bool {
		return slices.Equal(channelIDs(t, ts, id), []string{"001", "003"})
	})
	c1, _, _ := ts.Channel(t.Context(), DeviceID(i(1).id))
	if c1.Online {
		t.Error("channel 1 still online after OFF")
	}
	if dev, _ := ts.Device(t.Context(), DeviceID(id)); dev.ChannelCount != 2 {
		t.Errorf("ChannelCount %d", dev.ChannelCount)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	for n := 0; n < 2; {
		select {
		case ev := <-events:
			if ev.Type == EventCatalogChanged {
				n++
			}
		case <-ctx.Done():
			t.Fatalf("saw %d catalog.changed events, want 2", n)
		}
	}
}
