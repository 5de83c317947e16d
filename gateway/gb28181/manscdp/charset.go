package manscdp

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Charset is the byte encoding of outgoing bodies.
type Charset int

// Outgoing charsets. GB2312 is the 2016 default; its bytes are GB18030 so
// characters outside GB2312 (𠀀, 堃, 喆, 镕) survive, and peers decode GB2312
// declarations as GB18030 anyway (gb28181.md §2, §16).
const (
	GB2312  Charset = iota // GB18030 bytes, declared encoding="GB2312"
	UTF8                   // UTF-8 bytes, declared encoding="UTF-8"
	GB18030                // GB18030 bytes, declared encoding="GB18030"
)

// LookupCharset maps a configuration name (case-insensitive: gb2312, gbk,
// gb18030, utf-8, utf8; "" is GB2312) to a Charset.
func LookupCharset(name string) (Charset, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", "gb2312", "gbk":
		return GB2312, nil
	case "gb18030":
		return GB18030, nil
	case "utf-8", "utf8":
		return UTF8, nil
	}
	return 0, fmt.Errorf("%w: %q", ErrCharset, name)
}

func (c Charset) String() string {
	switch c {
	case UTF8:
		return "UTF-8"
	case GB18030:
		return "GB18030"
	}
	return "GB2312"
}

var declEncoding = regexp.MustCompile(`(?i)encoding\s*=\s*["']?\s*([A-Za-z0-9_\-]+)`)

// decodeText turns body into UTF-8 text without its XML declaration, BOM,
// NULs or other control characters. It returns the charset used.
func decodeText(body []byte, override string) (string, string, error) {
	body = bytes.TrimPrefix(body, []byte("\xEF\xBB\xBF"))
	decl, rest := splitDecl(body)
	declared := ""
	if m := declEncoding.FindSubmatch(decl); m != nil {
		declared = strings.ToLower(string(m[1]))
	}
	var useGB bool
	switch strings.ToLower(strings.TrimSpace(override)) {
	case "utf-8", "utf8":
	case "gb18030", "gbk", "gb2312":
		useGB = true
	case "":
		useGB = !utf8.Valid(rest) || (strings.HasPrefix(declared, "gb") && !hasWideRune(rest))
	default:
		return "", "", fmt.Errorf("%w: %q", ErrCharset, override)
	}
	var text string
	cs := "utf-8"
	if useGB {
		b, err := simplifiedchinese.GB18030.NewDecoder().Bytes(rest)
		if err != nil {
			return "", "", fmt.Errorf("manscdp: gb18030: %w", err)
		}
		text, cs = string(b), "gb18030"
	} else {
		text = strings.ToValidUTF8(string(rest), "\uFFFD")
	}
	return sanitize(text), cs, nil
}

// splitDecl separates a leading <?xml …?> declaration from the document.
func splitDecl(b []byte) (decl, rest []byte) {
	t := bytes.TrimLeft(b, " \t\r\n\x00")
	if len(t) < 5 || !bytes.EqualFold(t[:5], []byte("<?xml")) {
		return nil, b
	}
	end := bytes.Index(t, []byte("?>"))
	if end < 0 {
		return nil, b
	}
	return t[:end+2], t[end+2:]
}

// hasWideRune reports a rune at or above U+0800 (three or more UTF-8 bytes).
func hasWideRune(b []byte) bool {
	for _, c := range b {
		if c >= 0xE0 {
			return true
		}
	}
	return false
}

// sanitize replaces characters XML 1.0 forbids (NUL and other C0 controls
// except tab, CR, LF) with spaces, and drops trailing NULs and spaces.
func sanitize(s string) string {
	s = strings.TrimRight(s, "\x00 \t\r\n")
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' {
			return ' '
		}
		if r == 0xFFFE || r == 0xFFFF {
			return '\uFFFD'
		}
		return r
	}, s)
}

// encodeText converts UTF-8 to the charset's bytes.
func encodeText(s string, c Charset) ([]byte, error) {
	if c == UTF8 {
		return []byte(s), nil
	}
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("manscdp: gb18030: %w", err)
	}
	return b, nil
}
