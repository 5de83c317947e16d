package manscdp

import (
	"strconv"
	"time"
)

// NewDoc starts an outgoing body: <Kind><CmdType/><SN/><DeviceID/>…
func NewDoc(kind Kind, cmdType string, sn int, deviceID string) *Node {
	return (&Node{Name: string(kind)}).
		Add("CmdType", cmdType).
		Add("SN", strconv.Itoa(sn)).
		Add("DeviceID", deviceID)
}

// Query builds a Catalog, DeviceInfo, DeviceStatus or PresetQuery query (A.2.4).
func Query(cmdType string, sn int, deviceID string) *Node {
	return NewDoc(KindQuery, cmdType, sn, deviceID)
}

// RecordQuery holds the optional fields of a RecordInfo query.
type RecordQuery struct {
	Start, End time.Time // formatted in their own location
	Type       string    // all (default), time, alarm, manual; Dahua needs it
	Secrecy    int
}

// RecordInfoQuery builds a RecordInfo query for a channel (A.2.4.6).
func RecordInfoQuery(sn int, channelID string, q RecordQuery) *Node {
	t := q.Type
	if t == "" {
		t = "all"
	}
	return Query(CmdRecordInfo, sn, channelID).
		Add("StartTime", q.Start.Format(TimeLayout)).
		Add("EndTime", q.End.Format(TimeLayout)).
		Add("Secrecy", strconv.Itoa(q.Secrecy)).
		Add("Type", t)
}

// PTZControl builds a DeviceControl with a PTZCmd (see package ptz) for a
// channel; priority > 0 adds Info/ControlPriority (A.2.3.1).
func PTZControl(sn int, channelID, ptzCmd string, priority int) *Node {
	d := NewDoc(KindControl, CmdDeviceControl, sn, channelID).Add("PTZCmd", ptzCmd)
	if priority > 0 {
		d.Elem("Info").Add("ControlPriority", strconv.Itoa(priority))
	}
	return d
}

// KeyframeControl builds the IFameCmd (the standard's spelling) DeviceControl asking for an I-frame.
func KeyframeControl(sn int, channelID string) *Node {
	return NewDoc(KindControl, CmdDeviceControl, sn, channelID).Add("IFameCmd", "Send")
}

// TeleBootControl builds the DeviceControl that reboots a device.
func TeleBootControl(sn int, deviceID string) *Node {
	return NewDoc(KindControl, CmdDeviceControl, sn, deviceID).Add("TeleBoot", "Boot")
}

// KeepaliveNotify builds a Keepalive notify with Status OK (A.2.5.2).
func KeepaliveNotify(sn int, deviceID string) *Node {
	return NewDoc(KindNotify, CmdKeepalive, sn, deviceID).Add("Status", "OK")
}

// BroadcastNotify builds the platform's voice-broadcast invitation (A.2.5.6).
func BroadcastNotify(sn int, sourceID, targetID string) *Node {
	return (&Node{Name: string(KindNotify)}).
		Add("CmdType", CmdBroadcast).
		Add("SN", strconv.Itoa(sn)).
		Add("SourceID", sourceID).
		Add("TargetID", targetID)
}

// AlarmNotify builds an Alarm notify (A.2.5.3), as the simulator sends it.
func AlarmNotify(sn int, deviceID string, a Alarm) *Node {
	d := NewDoc(KindNotify, CmdAlarm, sn, deviceID).
		Add("AlarmPriority", strconv.Itoa(a.AlarmPriority)).
		Add("AlarmMethod", strconv.Itoa(a.AlarmMethod)).
		Add("AlarmTime", a.AlarmTime)
	if a.AlarmDescription != "" {
		d.Add("AlarmDescription", a.AlarmDescription)
	}
	if a.Longitude != 0 || a.Latitude != 0 {
		d.Add("Longitude", ftoa(a.Longitude)).Add("Latitude", ftoa(a.Latitude))
	}
	if a.AlarmType != 0 {
		d.Elem("Info").Add("AlarmType", strconv.Itoa(a.AlarmType))
	}
	return d
}

// ResultResponse builds a response carrying only Result OK or ERROR.
func ResultResponse(cmdType string, sn int, deviceID string, ok bool) *Node {
	r := "OK"
	if !ok {
		r = "ERROR"
	}
	return NewDoc(KindResponse, cmdType, sn, deviceID).Add("Result", r)
}

// AlarmResponse acknowledges an Alarm notify (devices resend until they get it).
func AlarmResponse(sn int, deviceID string) *Node {
	return ResultResponse(CmdAlarm, sn, deviceID, true)
}

// DeviceInfoResponse builds a DeviceInfo response; an empty Result is OK.
func DeviceInfoResponse(sn int, deviceID string, info DeviceInfo) *Node {
	return NewDoc(KindResponse, CmdDeviceInfo, sn, deviceID).
		Add("Result", orDefault(info.Result, "OK")).
		Add("DeviceName", info.DeviceName).
		Add("Manufacturer", info.Manufacturer).
		Add("Model", info.Model).
		Add("Firmware", info.Firmware).
		Add("Channel", strconv.Itoa(info.Channel))
}

// DeviceStatusResponse builds a DeviceStatus response; empty fields take
// OK / ONLINE / OK / ON / OFF and the DeviceTime is written as given.
func DeviceStatusResponse(sn int, deviceID string, s DeviceStatus) *Node {
	d := NewDoc(KindResponse, CmdDeviceStatus, sn, deviceID).
		Add("Result", orDefault(s.Result, "OK")).
		Add("Online", orDefault(s.Online, "ONLINE")).
		Add("Status", orDefault(s.Status, "OK")).
		Add("Encode", orDefault(s.Encode, "ON")).
		Add("Record", orDefault(s.Record, "OFF")).
		Add("DeviceTime", s.DeviceTime)
	list := d.Elem("Alarmstatus", Attr{"Num", strconv.Itoa(len(s.Alarms))})
	for _, a := range s.Alarms {
		list.Elem("Item").Add("DeviceID", a.DeviceID).Add("DutyStatus", a.DutyStatus)
	}
	return d
}

// DefaultCatalogPageSize is the items per catalog MESSAGE when none is
// given: small enough for one UDP datagram (gb28181.md §6).
const DefaultCatalogPageSize = 4

// CatalogResponses pages a catalog into Response bodies that all carry the
// query's SN and SumNum = len(items). An empty catalog is one page with
// SumNum 0. pageSize <= 0 means DefaultCatalogPageSize.
func CatalogResponses(sn int, deviceID string, items []CatalogItem, pageSize int) []*Node {
	return catalogPages(KindResponse, sn, deviceID, items, pageSize)
}

// CatalogNotifies pages catalog change items (with Event set) into Notify bodies.
func CatalogNotifies(sn int, deviceID string, items []CatalogItem, pageSize int) []*Node {
	return catalogPages(KindNotify, sn, deviceID, items, pageSize)
}

func catalogPages(kind Kind, sn int, deviceID string, items []CatalogItem, pageSize int) []*Node {
	if pageSize <= 0 {
		pageSize = DefaultCatalogPageSize
	}
	total := strconv.Itoa(len(items))
	var pages []*Node
	for first := true; first || len(items) > 0; first = false {
		page := items[:min(pageSize, len(items))]
		items = items[len(page):]
		d := NewDoc(kind, CmdCatalog, sn, deviceID).Add("SumNum", total)
		pages = append(pages, d)
		list := d.Elem("DeviceList", Attr{"Num", strconv.Itoa(len(page))})
		for _, it := range page {
			writeCatalogItem(list.Elem("Item"), it, kind == KindNotify)
		}
	}
	return pages
}

func writeCatalogItem(n *Node, it CatalogItem, notify bool) {
	n.Add("DeviceID", it.DeviceID)
	if notify && it.Event != "" {
		n.Add("Event", it.Event)
	}
	n.Add("Name", it.Name).
		Add("Manufacturer", it.Manufacturer).
		Add("Model", it.Model).
		Add("Owner", orDefault(it.Owner, "Owner")).
		Add("CivilCode", it.CivilCode)
	if it.Block != "" {
		n.Add("Block", it.Block)
	}
	n.Add("Address", orDefault(it.Address, "Address")).
		Add("Parental", strconv.Itoa(it.Parental)).
		Add("ParentID", it.ParentID)
	if it.BusinessGroupID != "" {
		n.Add("BusinessGroupID", it.BusinessGroupID)
	}
	n.Add("SafetyWay", strconv.Itoa(it.SafetyWay)).
		Add("RegisterWay", strconv.Itoa(max(it.RegisterWay, 1))).
		Add("Secrecy", strconv.Itoa(it.Secrecy))
	if it.IPAddress != "" {
		n.Add("IPAddress", it.IPAddress).Add("Port", strconv.Itoa(it.Port))
	}
	n.Add("Status", orDefault(it.Status, "ON"))
	if it.Longitude != 0 || it.Latitude != 0 {
		n.Add("Longitude", ftoa(it.Longitude)).Add("Latitude", ftoa(it.Latitude))
	}
	if it.PTZType != 0 {
		n.Elem("Info").Add("PTZType", strconv.Itoa(it.PTZType))
	}
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
