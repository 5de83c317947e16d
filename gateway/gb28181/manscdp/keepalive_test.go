package manscdp

import (
	"testing"
)

// keepaliveBodies are Keepalive notifies as devices send them, and near
// misses the scanner must leave to Parse.
var keepaliveBodies = []struct {
	name string
	body string
	fast bool // ScanKeepalive reads it
	sn   int
	id   string
}{
	{"2016 sample", "<?xml version=\"1.0\" encoding=\"GB2312\"?>\r\n<Notify>\r\n<CmdType>Keepalive</CmdType>\r\n<SN>3391</SN>\r\n<DeviceID>51010700001180000007</DeviceID>\r\n<Status>OK</Status>\r\n</Notify>\r\n", true, 3391, "51010700001180000007"},
	{"no declaration, one line", `<Notify><CmdType>Keepalive</CmdType><SN>7</SN><DeviceID>34020000001320000001</DeviceID></Notify>`, true, 7, "34020000001320000001"},
	{"lower case, spaces in values", "<notify>\n <cmdtype> keepalive </cmdtype>\n <sn> 1 2 </sn>\n <deviceid>3402 0000001320000001</deviceid>\n</notify>\n", true, 12, "34020000001320000001"},
	{"first of a duplicate wins", `<Notify><CmdType>Keepalive</CmdType><SN>1</SN><SN>2</SN><DeviceID>a</DeviceID><DeviceID>b</DeviceID></Notify>`, true, 1, "a"},
	{"no SN", `<Notify><CmdType>Keepalive</CmdType><DeviceID>x</DeviceID></Notify>`, true, 0, "x"},
	{"Info with fault list", `<Notify><CmdType>Keepalive</CmdType><SN>1</SN><DeviceID>x</DeviceID><Status>OK</Status><Info><DeviceID>y</DeviceID></Info></Notify>`, false, 1, "x"},
	{"Chinese in a field", "<Notify><CmdType>Keepalive</CmdType><SN>1</SN><DeviceID>x</DeviceID><Status>\xd5\xfd\xb3\xa3</Status></Notify>", false, 1, "x"},
	{"entity", `<Notify><CmdType>Keepalive</CmdType><SN>1&#50;</SN><DeviceID>x</DeviceID></Notify>`, false, 12, "x"},
	{"comment", `<Notify><!-- hi --><CmdType>Keepalive</CmdType><SN>1</SN><DeviceID>x</DeviceID></Notify>`, false, 1, "x"},
	{"attribute", `<Notify><CmdType>Keepalive</CmdType><SN a="1">1</SN><DeviceID>x</DeviceID></Notify>`, false, 1, "x"},
	{"trailing NULs", "<Notify><CmdType>Keepalive</CmdType><SN>1</SN><DeviceID>x</DeviceID></Notify>\x00\x00", false, 1, "x"},
}

func TestScanKeepalive(t *testing.T) {
	for _, c := range keepaliveBodies {
		t.Run(c.name, func(t *testing.T) {
			k, ok := ScanKeepalive([]byte(c.body))
			if ok != c.fast {
				t.Fatalf("fast path %v, want %v", ok, c.fast)
			}
			if ok && (k.SN != c.sn || k.DeviceID != c.id) {
				t.Fatalf("got %+v", k)
			}
			// The full decoder reads every one of them the same way.
			m, err := Parse([]byte(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind != KindNotify || m.CmdType != CmdKeepalive || m.SN != c.sn || m.DeviceID != c.id {
				t.Fatalf("Parse: %s %s %d %s", m.Kind, m.CmdType, m.SN, m.DeviceID)
			}
		})
	}
	for _, body := range []string{
		`<Notify><CmdType>Catalog</CmdType><SN>1</SN><DeviceID>x</DeviceID></Notify>`,
		`<Response><CmdType>Keepalive</CmdType><SN>1</SN><DeviceID>x</DeviceID></Response>`,
		`<Notify><CmdType>Keepalive</CmdType><SN>1</SN></Notify><Notify>`,
		`<Notify><CmdType>Keepalive</cmdtype></Notify>`,
		`<Notify><CmdType>Keepalive</CmdType>`,
		``,
	} {
		if _, ok := ScanKeepalive([]byte(body)); ok {
			t.Errorf("ScanKeepalive accepted %q", body)
		}
	}
}

// The body gbsim and most devices send, built by this package.
func TestScanKeepaliveOfMarshal(t *testing.T) {
	for _, cs := range []Charset{GB2312, UTF8, GB18030} {
		b, err := Marshal(KeepaliveNotify(42, "34020000001320000001"), cs)
		if err != nil {
			t.Fatal(err)
		}
		k, ok := ScanKeepalive(b)
		if !ok || k.SN != 42 || k.DeviceID != "34020000001320000001" {
			t.Fatalf("%s: %+v %v\n%s", cs, k, ok, b)
		}
	}
}

// FuzzScanKeepalive: whatever the scanner accepts, Parse reads as a
// Keepalive notify with the same SN and DeviceID.
func FuzzScanKeepalive(f *testing.F) {
	for _, c := range keepaliveBodies {
		f.Add([]byte(c.body))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k, ok := ScanKeepalive(b)
		if !ok {
			return
		}
		m, err := Parse(b)
		if err != nil {
			t.Fatalf("scanned %+v but Parse failed: %v\n%q", k, err, b)
		}
		if m.Kind != KindNotify || m.CmdType != CmdKeepalive || m.SN != k.SN || m.DeviceID != k.DeviceID {
			t.Fatalf("scanned %+v, Parse %s %s %d %q\n%q", k, m.Kind, m.CmdType, m.SN, m.DeviceID, b)
		}
	})
}

func BenchmarkKeepalive(b *testing.B) {
	body, _ := Marshal(KeepaliveNotify(42, "34020000001320000001"), GB2312)
	b.Run("Scan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := ScanKeepalive(body); !ok {
				b.Fatal("not scanned")
			}
		}
	})
	b.Run("Parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Parse(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestRootName(t *testing.T) {
	for body, want := range map[string]string{
		catalogPage: "Response",
		"\r\n<?xml version=\"1.0\"?>\r\n<Notify>": "Notify",
		"<response><CmdType>":                     "response",
		"<!-- x --><Response>":                    "",
		"<?xml":                                   "",
		"":                                        "",
	} {
		if got := RootName([]byte(body)); got != want {
			t.Errorf("RootName(%.30q) = %q, want %q", body, got, want)
		}
	}
}

func FuzzRootName(f *testing.F) {
	f.Add([]byte(catalogPage))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = RootName(b) // never panics
	})
}
