package sdp

import (
	"fmt"
	"strconv"
	"strings"
)

// Parse reads a GB28181 SDP body (usually a device's answer). It accepts \n
// or \r\n line endings, blank and unknown lines, a missing y=, and leading
// or trailing whitespace. Only the first m= section is read; a= lines before
// it (session level) are read too. It fails when no m= line is present or
// when a line it interprets (c=, t=, m=, y=) is malformed.
func Parse(body []byte) (*Session, error) {
	s := &Session{}
	var sawMedia bool
	for n, raw := range strings.Split(string(body), "\n") {
		l := strings.TrimSpace(strings.TrimRight(raw, "\r\x00"))
		if len(l) < 2 || l[1] != '=' {
			continue
		}
		key, val := l[0], strings.TrimSpace(l[2:])
		if sawMedia && key == 'm' {
			break // second media section: ignore
		}
		if err := s.parseLine(key, val, &sawMedia); err != nil {
			return nil, fmt.Errorf("line %d %q: %w", n+1, l, err)
		}
	}
	if !sawMedia {
		return nil, ErrNoMedia
	}
	return s, nil
}

func (s *Session) parseLine(key byte, val string, sawMedia *bool) error {
	switch key {
	case 'o':
		if f := strings.Fields(val); len(f) > 0 {
			s.Origin = f[0]
			if len(f) >= 6 && s.IP == "" {
				s.IP = f[5]
			}
		}
	case 's':
		s.Name = val
	case 'u':
		s.URI = val
	case 'c':
		f := strings.Fields(val)
		if len(f) < 3 {
			return ErrSyntax
		}
		s.IP = strings.SplitN(f[2], "/", 2)[0] // drop a multicast TTL
	case 't':
		f := strings.Fields(val)
		if len(f) < 2 {
			return ErrSyntax
		}
		var err1, err2 error
		s.Start, err1 = strconv.ParseInt(f[0], 10, 64)
		s.Stop, err2 = strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			return ErrSyntax
		}
	case 'm':
		*sawMedia = true
		return s.parseMedia(val)
	case 'a':
		s.parseAttr(val)
	case 'y':
		s.SSRC = val
	case 'f':
		s.F = val
	}
	return nil
}

func (s *Session) parseMedia(val string) error {
	f := strings.Fields(val)
	if len(f) < 3 {
		return ErrSyntax
	}
	s.Media = f[0]
	port, err := strconv.Atoi(strings.SplitN(f[1], "/", 2)[0])
	if err != nil || port < 0 || port > 65535 {
		return ErrSyntax
	}
	s.Port = port
	s.TCP = strings.HasPrefix(strings.ToUpper(f[2]), "TCP")
	for _, p := range f[3:] {
		pt, err := strconv.Atoi(p)
		if err != nil || pt < 0 || pt > 127 {
			continue
		}
		if s.format(uint8(pt)) == nil {
			s.Formats = append(s.Formats, Format{PayloadType: uint8(pt)})
		}
	}
	return nil
}

func (s *Session) parseAttr(val string) {
	name, arg, _ := strings.Cut(val, ":")
	switch strings.ToLower(name) {
	case "recvonly", "sendonly", "sendrecv", "inactive":
		s.Direction = strings.ToLower(name)
	case "rtpmap":
		s.parseRtpmap(arg)
	case "setup":
		s.Setup = strings.ToLower(strings.TrimSpace(arg))
	case "connection":
	case "downloadspeed":
		s.DownloadSpeed, _ = strconv.Atoi(strings.TrimSpace(arg))
	case "filesize":
		s.FileSize, _ = strconv.ParseInt(strings.TrimSpace(arg), 10, 64)
	default:
		s.Attrs = append(s.Attrs, val)
	}
}

// parseRtpmap reads "96 PS/90000".
func (s *Session) parseRtpmap(arg string) {
	f := strings.Fields(arg)
	if len(f) < 2 {
		return
	}
	pt, err := strconv.Atoi(f[0])
	if err != nil || pt < 0 || pt > 127 {
		return
	}
	name, rate, _ := strings.Cut(f[1], "/")
	rate, _, _ = strings.Cut(rate, "/")
	clock, _ := strconv.Atoi(rate)
	if fm := s.format(uint8(pt)); fm != nil {
		fm.Name, fm.ClockRate = name, clock
		return
	}
	s.Formats = append(s.Formats, Format{uint8(pt), name, clock})
}

func (s *Session) format(pt uint8) *Format {
	for i := range s.Formats {
		if s.Formats[i].PayloadType == pt {
			return &s.Formats[i]
		}
	}
	return nil
}

// PS reports whether the media carries MPEG-PS: an rtpmap named PS (any
// case), or payload type 96 with no rtpmap (the GB28181 default).
func (s *Session) PS() bool {
	for _, f := range s.Formats {
		if strings.EqualFold(f.Name, "PS") || (f.PayloadType == 96 && f.Name == "") {
			return true
		}
	}
	return false
}
