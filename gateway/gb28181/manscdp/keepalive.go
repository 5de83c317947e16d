package manscdp

import "strings"

// KeepaliveHead is the header of a Keepalive notify: what the platform
// uses of the message every device sends every interval.
type KeepaliveHead struct {
	SN       int
	DeviceID string
}

// ScanKeepalive reads a Keepalive notify without building a tree: the
// message every device sends every minute, about 170 a second from
// 10,000 devices. It accepts only the plain form devices send — ASCII, an
// optional <?xml …?> declaration, <Notify> with flat child elements
// (no attributes, comments, entities or nesting) — and reports false for
// anything else, which the caller then hands to Parse. When it reports
// true, Parse would give Kind Notify, CmdType Keepalive and the same SN and
// DeviceID (FuzzScanKeepalive checks this).
func ScanKeepalive(body []byte) (KeepaliveHead, bool) {
	var k KeepaliveHead
	for _, c := range body {
		if c >= 0x7F || (c < 0x20 && c != '\t' && c != '\r' && c != '\n') {
			return k, false // non-ASCII, NUL or a control character: the full decoder's job
		}
	}
	s := trimXMLSpace(string(body))
	if hasPrefixFold(s, "<?xml") {
		end := strings.Index(s, "?>")
		if end < 0 || strings.Contains(s[1:end], "<") || strings.Contains(s[2:end], "?") {
			return k, false
		}
		s = trimXMLSpace(s[end+2:])
	}
	root, s, ok := startTag(s)
	if !ok || !strings.EqualFold(root, "Notify") {
		return k, false
	}
	var cmd, sn, id string
	var haveCmd, haveSN, haveID bool
	for {
		s = trimXMLSpace(s)
		if strings.HasPrefix(s, "</") {
			break
		}
		name, rest, ok := startTag(s)
		if !ok {
			return k, false
		}
		end := strings.IndexByte(rest, '<')
		if end < 0 {
			return k, false
		}
		text := rest[:end]
		if strings.ContainsAny(text, "&>") {
			return k, false
		}
		rest, ok = strings.CutPrefix(rest[end:], "</"+name+">")
		if !ok {
			return k, false
		}
		switch {
		case !haveCmd && strings.EqualFold(name, "CmdType"):
			cmd, haveCmd = text, true
		case !haveSN && strings.EqualFold(name, "SN"):
			sn, haveSN = text, true
		case !haveID && strings.EqualFold(name, "DeviceID"):
			id, haveID = text, true
		}
		s = rest
	}
	s, ok = strings.CutPrefix(s, "</"+root+">")
	if !ok || trimXMLSpace(s) != "" || !strings.EqualFold(strings.TrimSpace(cmd), CmdKeepalive) {
		return k, false
	}
	return KeepaliveHead{SN: atoi(sn), DeviceID: compact(id)}, true
}

// startTag reads "<Name>" with a plain name (letters, digits, '_', '-',
// '.'; a letter or '_' first) and no attributes.
func startTag(s string) (name, rest string, ok bool) {
	if len(s) < 3 || s[0] != '<' {
		return "", "", false
	}
	i := 1
	for i < len(s) && isNameByte(s[i], i == 1) {
		i++
	}
	if i == 1 || i >= len(s) || s[i] != '>' {
		return "", "", false
	}
	return s[1:i], s[i+1:], true
}

func isNameByte(c byte, first bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		return true
	case c >= '0' && c <= '9', c == '-', c == '.':
		return !first
	}
	return false
}

func trimXMLSpace(s string) string { return strings.Trim(s, " \t\r\n") }

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// RootName is a guess at the root element's name, from the first start
// tag after an optional declaration; "" when body does not start plainly.
// It only picks a handling path: Parse decides what the message is.
func RootName(body []byte) string {
	s := body
	if len(s) > 512 {
		s = s[:512]
	}
	t := trimXMLSpace(string(s))
	if hasPrefixFold(t, "<?xml") {
		end := strings.Index(t, "?>")
		if end < 0 {
			return ""
		}
		t = trimXMLSpace(t[end+2:])
	}
	if len(t) < 2 || t[0] != '<' || !isNameByte(t[1], true) {
		return ""
	}
	i := 2
	for i < len(t) && isNameByte(t[i], false) {
		i++
	}
	return t[1:i]
}
