package manscdp

import (
	"strings"
	"time"
)

// Keepalive is a Keepalive notify (GB/T 28181-2016 A.2.5, 9.6).
type Keepalive struct {
	Status string // OK or ERROR
}

// Keepalive reads a Keepalive notify.
func (m *Message) Keepalive() Keepalive {
	return Keepalive{Status: strings.ToUpper(compact(m.Value("Status")))}
}

// CatalogItem is one entry of a catalog response or notify (A.2.6.4).
type CatalogItem struct {
	DeviceID, Name, Manufacturer, Model, Owner string
	CivilCode, Block, Address                  string
	Parental                                   int
	ParentID                                   string
	SafetyWay, RegisterWay, Secrecy            int
	IPAddress                                  string
	Port                                       int
	Status                                     string // ON/OFF as sent (some send ONLINE/OFFLINE)
	Longitude, Latitude                        float64
	PTZType                                    int    // Info/PTZType: 1 dome, 2 half-dome, 3 box, 4 remote box
	BusinessGroupID                            string // Info/BusinessGroupID (2016) or a top-level one
	Event                                      string // notify only: ON OFF VLOST DEFECT ADD DEL UPDATE
}

// Online reports a Status of ON or ONLINE, in any case.
func (it CatalogItem) Online() bool {
	s := strings.ToUpper(it.Status)
	return s == "ON" || s == "ONLINE"
}

// Catalog is one page of a catalog response or notify (A.2.6.4, 9.5).
type Catalog struct {
	SumNum int // items across all pages
	Num    int // DeviceList Num: items in this page as declared
	Items  []CatalogItem
}

// Catalog reads a catalog Response or Notify page.
func (m *Message) Catalog() Catalog {
	list := m.Root.Get("DeviceList")
	c := Catalog{SumNum: atoi(m.Value("SumNum")), Num: atoi(list.Attr("Num"))}
	for _, it := range list.All("Item") {
		c.Items = append(c.Items, readCatalogItem(it))
	}
	return c
}

func readCatalogItem(n *Node) CatalogItem {
	it := CatalogItem{
		DeviceID:     compact(n.Value("DeviceID")),
		Name:         n.Value("Name"),
		Manufacturer: n.Value("Manufacturer"),
		Model:        n.Value("Model"),
		Owner:        n.Value("Owner"),
		CivilCode:    compact(n.Value("CivilCode")),
		Block:        n.Value("Block"),
		Address:      n.Value("Address"),
		Parental:     atoi(n.Value("Parental")),
		ParentID:     compact(n.Value("ParentID")),
		SafetyWay:    atoi(n.Value("SafetyWay")),
		RegisterWay:  atoi(n.Value("RegisterWay")),
		Secrecy:      atoi(n.Value("Secrecy")),
		IPAddress:    compact(n.Value("IPAddress")),
		Port:         atoi(n.Value("Port")),
		Status:       compact(n.Value("Status")),
		Longitude:    atof(n.Value("Longitude")),
		Latitude:     atof(n.Value("Latitude")),
		PTZType:      atoi(n.Value("Info", "PTZType")),
		Event:        strings.ToUpper(compact(n.Value("Event"))),
	}
	it.BusinessGroupID = compact(n.Value("Info", "BusinessGroupID"))
	if it.BusinessGroupID == "" {
		it.BusinessGroupID = compact(n.Value("BusinessGroupID"))
	}
	return it
}

// DeviceInfo is a DeviceInfo response (A.2.6.5).
type DeviceInfo struct {
	Result, DeviceName, Manufacturer, Model, Firmware string
	Channel                                           int
}

// DeviceInfo reads a DeviceInfo response.
func (m *Message) DeviceInfo() DeviceInfo {
	return DeviceInfo{
		Result:       m.Result(),
		DeviceName:   m.Value("DeviceName"),
		Manufacturer: m.Value("Manufacturer"),
		Model:        m.Value("Model"),
		Firmware:     m.Value("Firmware"),
		Channel:      atoi(m.Value("Channel")),
	}
}

// AlarmStatus is one Alarmstatus item of a DeviceStatus response.
type AlarmStatus struct {
	DeviceID   string
	DutyStatus string // ONDUTY, OFFDUTY, ALARM
}

// DeviceStatus is a DeviceStatus response (A.2.6.6).
type DeviceStatus struct {
	Result     string
	Online     string // ONLINE or OFFLINE
	Status     string // OK or ERROR
	Encode     string // ON or OFF
	Record     string // ON or OFF
	DeviceTime string // local ISO-8601 without zone
	Alarms     []AlarmStatus
}

// DeviceStatus reads a DeviceStatus response.
func (m *Message) DeviceStatus() DeviceStatus {
	s := DeviceStatus{
		Result:     m.Result(),
		Online:     strings.ToUpper(compact(m.Value("Online"))),
		Status:     strings.ToUpper(compact(m.Value("Status"))),
		Encode:     strings.ToUpper(compact(m.Value("Encode"))),
		Record:     strings.ToUpper(compact(m.Value("Record"))),
		DeviceTime: m.Value("DeviceTime"),
	}
	for _, it := range m.Root.Get("Alarmstatus").All("Item") {
		s.Alarms = append(s.Alarms, AlarmStatus{compact(it.Value("DeviceID")), strings.ToUpper(compact(it.Value("DutyStatus")))})
	}
	return s
}

// Alarm is an Alarm notify (A.2.5.3, 9.4).
type Alarm struct {
	AlarmPriority       int // 1 (most severe) … 4
	AlarmMethod         int // 1 phone, 2 device, 3 SMS, 4 GPS, 5 video analytics, 6 fault, 7 other
	AlarmTime           string
	AlarmDescription    string
	Longitude, Latitude float64
	AlarmType           int // Info/AlarmType
}

// Alarm reads an Alarm notify.
func (m *Message) Alarm() Alarm {
	return Alarm{
		AlarmPriority:    atoi(m.Value("AlarmPriority")),
		AlarmMethod:      atoi(m.Value("AlarmMethod")),
		AlarmTime:        m.Value("AlarmTime"),
		AlarmDescription: m.Value("AlarmDescription"),
		Longitude:        atof(m.Value("Longitude")),
		Latitude:         atof(m.Value("Latitude")),
		AlarmType:        atoi(m.Value("Info", "AlarmType")),
	}
}

// MediaStatus is a MediaStatus notify; NotifyType 121 = end of file (A.2.5.5).
type MediaStatus struct {
	NotifyType int
}

// NotifyTypeEndOfFile is the MediaStatus NotifyType sent at the end of a playback or download.
const NotifyTypeEndOfFile = 121

// MediaStatus reads a MediaStatus notify.
func (m *Message) MediaStatus() MediaStatus {
	return MediaStatus{NotifyType: atoi(m.Value("NotifyType"))}
}

// Broadcast is a Broadcast notify or response (A.2.5.6, 9.12).
type Broadcast struct {
	SourceID, TargetID string
	Result             string
}

// Broadcast reads a Broadcast notify or response.
func (m *Message) Broadcast() Broadcast {
	return Broadcast{compact(m.Value("SourceID")), compact(m.Value("TargetID")), m.Result()}
}

// Preset is one entry of a PresetQuery response.
type Preset struct {
	ID   string // PresetID, usually 1–255
	Name string
}

// PresetList is a PresetQuery response.
type PresetList struct {
	Num   int
	Items []Preset
}

// Presets reads a PresetQuery response.
func (m *Message) Presets() PresetList {
	list := m.Root.Get("PresetList")
	p := PresetList{Num: atoi(list.Attr("Num"))}
	for _, it := range list.All("Item") {
		p.Items = append(p.Items, Preset{compact(it.Value("PresetID")), it.Value("PresetName")})
	}
	return p
}

// RecordItem is one recording segment of a RecordInfo response (A.2.6.7).
type RecordItem struct {
	DeviceID, Name, FilePath, Address string
	StartTime, EndTime                string // local ISO-8601 without zone; see ParseTime
	Secrecy                           int
	Type                              string // time, alarm, manual, all
	RecorderID                        string
	FileSize                          int64
}

// RecordInfo is one page of a RecordInfo response.
type RecordInfo struct {
	Name   string
	SumNum int
	Num    int // RecordList Num
	Items  []RecordItem
}

// RecordInfo reads a RecordInfo response page.
func (m *Message) RecordInfo() RecordInfo {
	list := m.Root.Get("RecordList")
	r := RecordInfo{Name: m.Value("Name"), SumNum: atoi(m.Value("SumNum")), Num: atoi(list.Attr("Num"))}
	for _, it := range list.All("Item") {
		r.Items = append(r.Items, RecordItem{
			DeviceID:   compact(it.Value("DeviceID")),
			Name:       it.Value("Name"),
			FilePath:   it.Value("FilePath"),
			Address:    it.Value("Address"),
			StartTime:  it.Value("StartTime"),
			EndTime:    it.Value("EndTime"),
			Secrecy:    atoi(it.Value("Secrecy")),
			Type:       it.Value("Type"),
			RecorderID: compact(it.Value("RecorderID")),
			FileSize:   atoi64(it.Value("FileSize")),
		})
	}
	return r
}

// TimeLayout is the MANSCDP time format: local time, no zone.
const TimeLayout = "2006-01-02T15:04:05"

// ParseTime reads a MANSCDP time in loc, accepting a space instead of 'T'
// and fractional seconds.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.Replace(strings.TrimSpace(s), " ", "T", 1)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = s[:i]
	}
	return time.ParseInLocation(TimeLayout, s, loc)
}
