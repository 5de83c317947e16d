package manscdp

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

func gb(s string) string {
	b, err := simplifiedchinese.GB18030.NewEncoder().String(s)
	if err != nil {
		panic(err)
	}
	return b
}

const catalogPage = `<?xml version="1.0" encoding="GB2312"?>
<Response>
<CmdType>Catalog</CmdType>
<SN>70412</SN>
<DeviceID>51010700001180000007</DeviceID>
<SumNum>3</SumNum>
<DeviceList Num="2">
<Item>
<DeviceID>51010700001310000023</DeviceID>
<Name>东门卡口</Name>
<Manufacturer>Hikvision</Manufacturer>
<Model>DS-2CD3T46</Model>
<CivilCode>510107</CivilCode>
<Parental>0</Parental>
<ParentID>51010700001180000007</ParentID>
<Status>ON</Status>
<Longitude>104.0712</Longitude>
<Latitude>30.6765</Latitude>
<Info><PTZType>1</PTZType></Info>
</Item>
<Item>
<DeviceID>51010700001310000024</DeviceID>
<Name>西门 &amp; 南门</Name>
<Status>OFF</Status>
</Item>
</DeviceList>
</Response>
`

var item23 = CatalogItem{DeviceID: "51010700001310000023", Name: "东门卡口", Manufacturer: "Hikvision", Model: "DS-2CD3T46",
	CivilCode: "510107", ParentID: "51010700001180000007", Status: "ON", Longitude: 104.0712, Latitude: 30.6765, PTZType: 1}

// casesParse drives TestParse and seeds FuzzParse. check inspects the typed view.
var casesParse = []struct {
	name     string
	body     string
	charset  string // ParseCharset override
	kind     Kind
	cmd      string
	sn       int
	deviceID string
	check    func(t *testing.T, m *Message)
}{
	{"keepalive §4", `<?xml version="1.0" encoding="GB2312"?>
<Notify>
<CmdType>Keepalive</CmdType>
<SN>3391</SN>
<DeviceID>51010700001180000007</DeviceID>
<Status>OK</Status>
</Notify>`, "", KindNotify, CmdKeepalive, 3391, "51010700001180000007", func(t *testing.T, m *Message) {
		if m.Keepalive().Status != "OK" {
			t.Fatal(m.Keepalive())
		}
	}},
	{"catalog UTF-8 declared GB2312", catalogPage, "", KindResponse, CmdCatalog, 70412, "51010700001180000007", func(t *testing.T, m *Message) {
		c := m.Catalog()
		if c.SumNum != 3 || c.Num != 2 || len(c.Items) != 2 || m.Charset != "utf-8" {
			t.Fatalf("%+v %s", c, m.Charset)
		}
		if !reflect.DeepEqual(c.Items[0], item23) {
			t.Fatalf("%+v", c.Items[0])
		}
		if c.Items[1].Name != "西门 & 南门" || c.Items[1].Online() {
			t.Fatalf("%+v", c.Items[1])
		}
	}},
	{"catalog GB18030 bytes", gb(catalogPage), "", KindResponse, CmdCatalog, 70412, "51010700001180000007", func(t *testing.T, m *Message) {
		if c := m.Catalog(); c.Items[0].Name != "东门卡口" || m.Charset != "gb18030" {
			t.Fatalf("%q %s", c.Items[0].Name, m.Charset)
		}
	}},
	{"GB bytes declared UTF-8", strings.Replace(gb(catalogPage), "GB2312", "UTF-8", 1), "", KindResponse, CmdCatalog, 70412, "51010700001180000007", func(t *testing.T, m *Message) {
		if c := m.Catalog(); c.Items[0].Name != "东门卡口" {
			t.Fatalf("%q", c.Items[0].Name)
		}
	}},
	{"forced gb18030", gb(catalogPage), "gbk", KindResponse, CmdCatalog, 70412, "51010700001180000007", func(t *testing.T, m *Message) {
		if c := m.Catalog(); c.Items[0].Name != "东门卡口" {
			t.Fatalf("%q", c.Items[0].Name)
		}
	}},
	{"catalog notify, lower case, spaces, bare &, NULs", "<?xml version=\"1.0\"?>\r\n<notify><cmdtype>catalog</cmdtype><sn> 1 2 </sn>" +
		"<deviceid> 51010700001180000007 </deviceid><SumNum>1</SumNum><devicelist num=\"1\"><item><deviceid>51010700001310000023</deviceid>" +
		"<name>A&B 公司</name><event>del</event><info><ptztype> 3 </ptztype></info></item></devicelist></notify>\x00\x00",
		"", KindNotify, CmdCatalog, 12, "51010700001180000007", func(t *testing.T, m *Message) {
			it := m.Catalog().Items[0]
			if it.Name != "A&B 公司" || it.Event != "DEL" || it.PTZType != 3 {
				t.Fatalf("%+v", it)
			}
		}},
	{"device info", `<Response><CmdType>DeviceInfo</CmdType><SN>7</SN><DeviceID>51010700001180000007</DeviceID><Result>OK</Result>
<DeviceName>NVR-1</DeviceName><Manufacturer>Dahua</Manufacturer><Model>NVR4216</Model><Firmware>V4.0</Firmware><Channel>16</Channel></Response>`,
		"", KindResponse, CmdDeviceInfo, 7, "51010700001180000007", func(t *testing.T, m *Message) {
			want := DeviceInfo{"OK", "NVR-1", "Dahua", "NVR4216", "V4.0", 16}
			if m.DeviceInfo() != want {
				t.Fatalf("%+v", m.DeviceInfo())
			}
		}},
	{"device status", `<Response><CmdType>DeviceStatus</CmdType><SN>8</SN><DeviceID>51010700001180000007</DeviceID><Result>OK</Result>
<Online>ONLINE</Online><Status>OK</Status><Encode>ON</Encode><Record>OFF</Record><DeviceTime>2025-03-08T14:02:11</DeviceTime>
<AlarmStatus Num="1"><Item><DeviceID>51010700001340000002</DeviceID><DutyStatus>ONDUTY</DutyStatus></Item></AlarmStatus></Response>`,
		"", KindResponse, CmdDeviceStatus, 8, "51010700001180000007", func(t *testing.T, m *Message) {
			s := m.DeviceStatus()
			if s.Online != "ONLINE" || s.Record != "OFF" || len(s.Alarms) != 1 || s.Alarms[0].DutyStatus != "ONDUTY" {
				t.Fatalf("%+v", s)
			}
		}},
	{"alarm §9", `<Notify>
<CmdType>Alarm</CmdType>
<SN>88</SN>
<DeviceID>51010700001340000002</DeviceID>
<AlarmPriority>2</AlarmPriority>
<AlarmMethod>5</AlarmMethod>
<AlarmTime>2025-03-08T14:10:06</AlarmTime>
<AlarmDescription>区域入侵</AlarmDescription>
<Info><AlarmType>6</AlarmType></Info>
</Notify>`, "", KindNotify, CmdAlarm, 88, "51010700001340000002", func(t *testing.T, m *Message) {
		want := Alarm{2, 5, "2025-03-08T14:10:06", "区域入侵", 0, 0, 6}
		if m.Alarm() != want {
			t.Fatalf("%+v", m.Alarm())
		}
	}},
	{"media status end of file", `<Notify><CmdType>MediaStatus</CmdType><SN>9</SN><DeviceID>51010700001310000023</DeviceID><NotifyType>121</NotifyType></Notify>`,
		"", KindNotify, CmdMediaStatus, 9, "51010700001310000023", func(t *testing.T, m *Message) {
			if m.MediaStatus().NotifyType != NotifyTypeEndOfFile {
				t.Fatal(m.MediaStatus())
			}
		}},
	{"broadcast response", `<Response><CmdType>Broadcast</CmdType><SN>10</SN><DeviceID>51010700001370000001</DeviceID><Result>ok</Result></Response>`,
		"", KindResponse, CmdBroadcast, 10, "51010700001370000001", func(t *testing.T, m *Message) {
			if m.Broadcast().Result != "OK" {
				t.Fatal(m.Broadcast())
			}
		}},
	{"preset query response", `<Response><CmdType>PresetQuery</CmdType><SN>11</SN><DeviceID>51010700001310000023</DeviceID>
<PresetList Num="2"><Item><PresetID>1</PresetID><PresetName>大门</PresetName></Item><Item><PresetID>2</PresetID><PresetName>停车场</PresetName></Item></PresetList></Response>`,
		"", KindResponse, CmdPresetQuery, 11, "51010700001310000023", func(t *testing.T, m *Message) {
			p := m.Presets()
			if p.Num != 2 || len(p.Items) != 2 || p.Items[1] != (Preset{"2", "停车场"}) {
				t.Fatalf("%+v", p)
			}
		}},
	{"record info response", `<Response><CmdType>RecordInfo</CmdType><SN>5</SN><DeviceID>51010700001310000023</DeviceID><Name>Cam</Name>
<SumNum>1</SumNum><RecordList Num="1"><Item><DeviceID>51010700001310000023</DeviceID><Name>Cam</Name><FilePath>/a</FilePath>
<Address>x</Address><StartTime>2025-03-08T00:00:00</StartTime><EndTime>2025-03-08T01:00:00</EndTime><Secrecy>0</Secrecy>
<Type>time</Type><FileSize>1 048 576</FileSize></Item></RecordList></Response>`,
		"", KindResponse, CmdRecordInfo, 5, "51010700001310000023", func(t *testing.T, m *Message) {
			r := m.RecordInfo()
			if r.SumNum != 1 || r.Num != 1 || len(r.Items) != 1 || r.Items[0].FileSize != 1048576 || r.Items[0].Type != "time" {
				t.Fatalf("%+v", r)
			}
		}},
	{"unknown CmdType kept", `<Query><CmdType>HomePositionQuery</CmdType><SN>1</SN><DeviceID>1</DeviceID></Query> trailing junk <x>`,
		"", KindQuery, "HomePositionQuery", 1, "1", nil},
}

func TestParse(t *testing.T) {
	for _, c := range casesParse {
		t.Run(c.name, func(t *testing.T) {
			m, err := ParseCharset([]byte(c.body), c.charset)
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind != c.kind || m.CmdType != c.cmd || m.SN != c.sn || m.DeviceID != c.deviceID {
				t.Fatalf("got %s %s %d %s", m.Kind, m.CmdType, m.SN, m.DeviceID)
			}
			if c.check != nil {
				c.check(t, m)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		body string
		err  error
	}{
		{"", ErrEmpty},
		{"\x00\x00", ErrEmpty},
		{"hello", ErrSyntax},
		{"<Foo><CmdType>Catalog</CmdType></Foo>", ErrUnknownRoot},
		{"<Query><SN>1</SN></Query>", ErrNoCmdType},
		{strings.Repeat("<a>", 100), ErrSyntax},
	} {
		if _, err := Parse([]byte(c.body)); !errors.Is(err, c.err) {
			t.Fatalf("Parse(%q) = %v, want %v", c.body, err, c.err)
		}
	}
	if _, err := ParseCharset([]byte("<Query/>"), "latin1"); !errors.Is(err, ErrCharset) {
		t.Fatal(err)
	}
}

func TestBuildersRoundTrip(t *testing.T) {
	rare := CatalogItem{DeviceID: "51010700001310000099", Name: "𠀀堃喆镕·阿卜杜", Owner: "O", CivilCode: "510107", Address: "A",
		ParentID: "51010700002000000001", Status: "ON", RegisterWay: 1, Longitude: 104.5, Latitude: 30.25, PTZType: 2}
	items := []CatalogItem{item23, rare, {DeviceID: "51010700001310000025", Name: "三"}}
	for _, cs := range []Charset{GB2312, UTF8, GB18030} {
		pages := CatalogResponses(70412, "51010700002000000001", items, 2)
		if len(pages) != 2 {
			t.Fatalf("%d pages", len(pages))
		}
		var got []CatalogItem
		for _, p := range pages {
			b, err := Marshal(p, cs)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), `encoding="`+cs.String()+`"`) {
				t.Fatalf("declaration: %s", b[:50])
			}
			m, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			c := m.Catalog()
			if m.SN != 70412 || c.SumNum != 3 || c.Num != len(c.Items) {
				t.Fatalf("%+v", c)
			}
			got = append(got, c.Items...)
		}
		if got[1].Name != rare.Name || got[0].Name != item23.Name || got[2].Name != "三" {
			t.Fatalf("%s: names %q %q %q", cs, got[0].Name, got[1].Name, got[2].Name)
		}
		if got[1].Longitude != 104.5 || got[1].PTZType != 2 || got[1].Owner != "O" {
			t.Fatalf("%+v", got[1])
		}
	}
	empty := CatalogResponses(1, "x", nil, 0)
	m := mustRoundTrip(t, empty[0])
	if len(empty) != 1 || m.Catalog().SumNum != 0 || m.Catalog().Num != 0 {
		t.Fatal("empty catalog")
	}
}

func mustRoundTrip(t *testing.T, n *Node) *Message {
	t.Helper()
	b, err := Marshal(n, GB2312)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	return m
}

func TestBuilders(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	q := RecordInfoQuery(5, "51010700001310000023", RecordQuery{
		Start: time.Date(2025, 3, 8, 0, 0, 0, 0, loc), End: time.Date(2025, 3, 8, 23, 59, 59, 0, loc)})
	b, _ := Marshal(q, GB2312)
	want := "<?xml version=\"1.0\" encoding=\"GB2312\"?>\r\n<Query>\r\n<CmdType>RecordInfo</CmdType>\r\n<SN>5</SN>\r\n" +
		"<DeviceID>51010700001310000023</DeviceID>\r\n<StartTime>2025-03-08T00:00:00</StartTime>\r\n" +
		"<EndTime>2025-03-08T23:59:59</EndTime>\r\n<Secrecy>0</Secrecy>\r\n<Type>all</Type>\r\n</Query>\r\n"
	if string(b) != want {
		t.Fatalf("got\n%s", b)
	}
	for _, c := range []struct {
		n     *Node
		kind  Kind
		cmd   string
		field [2]string
	}{
		{Query(CmdCatalog, 1, "d"), KindQuery, CmdCatalog, [2]string{"SN", "1"}},
		{Query(CmdDeviceInfo, 2, "d"), KindQuery, CmdDeviceInfo, [2]string{"SN", "2"}},
		{Query(CmdDeviceStatus, 3, "d"), KindQuery, CmdDeviceStatus, [2]string{"SN", "3"}},
		{Query(CmdPresetQuery, 4, "d"), KindQuery, CmdPresetQuery, [2]string{"SN", "4"}},
		{PTZControl(11, "c", "A50F010180000036", 5), KindControl, CmdDeviceControl, [2]string{"PTZCmd", "A50F010180000036"}},
		{KeyframeControl(12, "c"), KindControl, CmdDeviceControl, [2]string{"IFameCmd", "Send"}},
		{TeleBootControl(13, "c"), KindControl, CmdDeviceControl, [2]string{"TeleBoot", "Boot"}},
		{KeepaliveNotify(14, "d"), KindNotify, CmdKeepalive, [2]string{"Status", "OK"}},
		{AlarmResponse(15, "d"), KindResponse, CmdAlarm, [2]string{"Result", "OK"}},
		{ResultResponse(CmdDeviceControl, 16, "d", false), KindResponse, CmdDeviceControl, [2]string{"Result", "ERROR"}},
		{BroadcastNotify(17, "p", "t"), KindNotify, CmdBroadcast, [2]string{"TargetID", "t"}},
		{DeviceInfoResponse(18, "d", DeviceInfo{DeviceName: "模拟", Channel: 1}), KindResponse, CmdDeviceInfo, [2]string{"DeviceName", "模拟"}},
		{DeviceStatusResponse(19, "d", DeviceStatus{DeviceTime: "2025-03-08T14:02:11"}), KindResponse, CmdDeviceStatus, [2]string{"Online", "ONLINE"}},
		{AlarmNotify(20, "d", Alarm{AlarmPriority: 1, AlarmMethod: 5, AlarmTime: "t", AlarmType: 2}), KindNotify, CmdAlarm, [2]string{"AlarmMethod", "5"}},
		{CatalogNotifies(21, "d", []CatalogItem{{DeviceID: "c", Event: "ADD"}}, 0)[0], KindNotify, CmdCatalog, [2]string{"SumNum", "1"}},
	} {
		m := mustRoundTrip(t, c.n)
		if m.Kind != c.kind || m.CmdType != c.cmd || m.Value(c.field[0]) != c.field[1] {
			t.Fatalf("%s %s %s=%q", m.Kind, m.CmdType, c.field[0], m.Value(c.field[0]))
		}
	}
	if PTZControl(1, "c", "x", 5).Value("Info", "ControlPriority") != "5" {
		t.Fatal("priority")
	}
}

func TestCharsetAndTime(t *testing.T) {
	for name, want := range map[string]Charset{"": GB2312, "GBK": GB2312, "gb18030": GB18030, "UTF-8": UTF8, "utf8": UTF8} {
		if c, err := LookupCharset(name); err != nil || c != want {
			t.Fatal(name, c, err)
		}
	}
	if _, err := LookupCharset("big5"); !errors.Is(err, ErrCharset) {
		t.Fatal(err)
	}
	tm, err := ParseTime("2025-03-08 14:02:11.000", time.UTC)
	if err != nil || tm != time.Date(2025, 3, 8, 14, 2, 11, 0, time.UTC) {
		t.Fatal(tm, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, c := range casesParse {
		f.Add([]byte(c.body))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		_, _, _, _ = m.Catalog(), m.DeviceStatus(), m.RecordInfo(), m.Presets()
		_, _, _ = m.Alarm(), m.DeviceInfo(), m.Broadcast()
		// Anything that decodes also encodes, and decodes again to the same header.
		out, err := Marshal(m.Root, UTF8)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parse: %v\n%q\n%q", err, b, out)
		}
		if m2.Kind != m.Kind || m2.CmdType != m.CmdType || m2.SN != m.SN || m2.DeviceID != m.DeviceID {
			t.Fatalf("re-parse differs: %+v vs %+v", m2, m)
		}
	})
}
