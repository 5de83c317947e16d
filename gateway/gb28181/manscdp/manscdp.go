// Package manscdp decodes and encodes MANSCDP XML bodies, the
// Application/MANSCDP+xml payloads of GB28181 SIP MESSAGE, SUBSCRIBE and
// NOTIFY requests (GB/T 28181-2016 §9 and annex A: Query, Control, Notify and
// Response messages; gb28181.md §4–§10).
//
// Parsing is deliberately tolerant, because devices are: GB2312/GBK/GB18030
// or UTF-8 bytes whatever the declaration says (see ParseCharset), element
// names in any case, spaces inside numbers, unescaped '&', trailing NULs and
// control characters. A message is read into a generic Node tree; typed
// accessors (Catalog, DeviceInfo, Alarm, …) pick fields from it
// case-insensitively. Encoding builds a Node tree with the helpers in
// build.go and writes it with Marshal in the configured Charset.
//
// The package is pure (no I/O) and imports only the standard library and
// golang.org/x/text.
package manscdp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Kind is the root element: the message class (GB/T 28181-2016 A.2.1).
type Kind string

// Message classes.
const (
	KindQuery    Kind = "Query"
	KindControl  Kind = "Control"
	KindNotify   Kind = "Notify"
	KindResponse Kind = "Response"
)

// CmdType values this package knows; Parse canonicalises their case.
const (
	CmdKeepalive      = "Keepalive"
	CmdCatalog        = "Catalog"
	CmdDeviceInfo     = "DeviceInfo"
	CmdDeviceStatus   = "DeviceStatus"
	CmdDeviceControl  = "DeviceControl"
	CmdDeviceConfig   = "DeviceConfig"
	CmdConfigDownload = "ConfigDownload"
	CmdRecordInfo     = "RecordInfo"
	CmdPresetQuery    = "PresetQuery"
	CmdAlarm          = "Alarm"
	CmdMediaStatus    = "MediaStatus"
	CmdBroadcast      = "Broadcast"
	CmdMobilePosition = "MobilePosition"
)

var knownCmdTypes = func() map[string]string {
	m := map[string]string{}
	for _, c := range []string{CmdKeepalive, CmdCatalog, CmdDeviceInfo, CmdDeviceStatus, CmdDeviceControl,
		CmdDeviceConfig, CmdConfigDownload, CmdRecordInfo, CmdPresetQuery, CmdAlarm, CmdMediaStatus,
		CmdBroadcast, CmdMobilePosition} {
		m[strings.ToLower(c)] = c
	}
	return m
}()

// Errors returned by Parse and Marshal.
var (
	ErrEmpty       = errors.New("manscdp: empty body")
	ErrTooLarge    = errors.New("manscdp: body larger than MaxBodySize")
	ErrSyntax      = errors.New("manscdp: malformed XML")
	ErrUnknownRoot = errors.New("manscdp: root is not Query, Control, Notify or Response")
	ErrNoCmdType   = errors.New("manscdp: no CmdType")
	ErrCharset     = errors.New("manscdp: unknown charset")
)

// MaxBodySize bounds the bodies Parse accepts.
const MaxBodySize = 4 << 20

// Message is a parsed MANSCDP body.
type Message struct {
	Kind     Kind
	CmdType  string // canonical case for the known CmdTypes, as sent otherwise
	SN       int    // 0 when absent or not a number
	DeviceID string
	// Charset is the charset the body was decoded with: "utf-8" or "gb18030".
	Charset string
	// Root is the whole document; use Value/Get for fields without an accessor.
	Root *Node
}

// Parse decodes a MANSCDP body, choosing the charset automatically (see ParseCharset).
func Parse(body []byte) (*Message, error) { return ParseCharset(body, "") }

// ParseCharset decodes a MANSCDP body. charset "" picks automatically;
// "utf-8" or "gb18030" (also "gbk", "gb2312") force one, for devices
// configured with a known charset.
//
// The automatic choice: bytes that are not valid UTF-8 are GB18030. Valid
// UTF-8 is UTF-8, except when the declaration names a GB charset and none
// of the non-ASCII characters is at or above U+0800: GB byte pairs that
// happen to form valid UTF-8 decode to U+0080–U+07FF (Latin, Greek,
// Cyrillic, Arabic), while UTF-8 Chinese is always above U+0800. GB18030 is
// a superset of GB2312 and GBK, so all three declarations decode alike.
func ParseCharset(body []byte, charset string) (*Message, error) {
	if len(body) > MaxBodySize {
		return nil, ErrTooLarge
	}
	text, cs, err := decodeText(body, charset)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(text) == "" {
		return nil, ErrEmpty
	}
	root, err := parseTree(text)
	if err != nil {
		return nil, err
	}
	m := &Message{Root: root, Charset: cs}
	switch strings.ToLower(root.Name) {
	case "query":
		m.Kind = KindQuery
	case "control":
		m.Kind = KindControl
	case "notify":
		m.Kind = KindNotify
	case "response":
		m.Kind = KindResponse
	default:
		return nil, fmt.Errorf("%w: <%s>", ErrUnknownRoot, root.Name)
	}
	m.CmdType = strings.TrimSpace(root.Value("CmdType"))
	if m.CmdType == "" {
		return nil, ErrNoCmdType
	}
	if c, ok := knownCmdTypes[strings.ToLower(m.CmdType)]; ok {
		m.CmdType = c
	}
	m.SN = atoi(root.Value("SN"))
	m.DeviceID = compact(root.Value("DeviceID"))
	return m, nil
}

// Value returns the trimmed text at path below the root ("" if absent).
func (m *Message) Value(path ...string) string { return m.Root.Value(path...) }

// Result returns the Result field (OK or ERROR) of a response.
func (m *Message) Result() string { return strings.ToUpper(compact(m.Root.Value("Result"))) }

// compact removes all white space: for IDs and numbers.
func compact(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// atoi reads an integer ignoring white space anywhere ("1 2" is 12); 0 on error.
func atoi(s string) int {
	v, err := strconv.Atoi(compact(s))
	if err != nil {
		return 0
	}
	return v
}

func atoi64(s string) int64 {
	v, _ := strconv.ParseInt(compact(s), 10, 64)
	return v
}

// atof reads a float ignoring white space; 0 on error.
func atof(s string) float64 {
	v, err := strconv.ParseFloat(compact(s), 64)
	if err != nil {
		return 0
	}
	return v
}
