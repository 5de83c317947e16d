// Package sdp builds and parses the SDP bodies of GB28181 INVITE dialogs
// (GB/T 28181-2016 §9.2 and annex F: real-time play, playback, download,
// broadcast). It is not a general SDP library: one media section, the
// GB-specific y= (SSRC) and f= (media description) lines, and the RFC 4145 /
// RFC 4571 setup and connection attributes for RTP over TCP.
//
// Lines are written in the order v o s u c t m a… y f; some firmware parses
// by position (gb28181.md §11, §17). The parser is tolerant: \n or \r\n line
// endings, unknown lines, missing y=. It imports only the standard library.
package sdp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Errors returned by Parse and SSRCValue.
var (
	ErrNoMedia = errors.New("sdp: no m= line")
	ErrSyntax  = errors.New("sdp: malformed line")
	ErrSSRC    = errors.New("sdp: SSRC is not 10 decimal digits that fit in 32 bits")
)

// Session names (s= line).
const (
	NamePlay     = "Play"
	NamePlayback = "Playback"
	NameDownload = "Download"
	NameTalk     = "Talk"
)

// Setup roles for RTP over TCP (a=setup:, RFC 4145).
const (
	SetupPassive = "passive" // the offerer listens, the answerer dials
	SetupActive  = "active"  // the offerer dials
)

// Format is one RTP payload format of the media line (a=rtpmap).
type Format struct {
	PayloadType uint8
	Name        string // "PS", "H264", "MPEG4", "PCMA"
	ClockRate   int
}

// Common formats.
var (
	FormatPS    = Format{96, "PS", 90000}
	FormatMPEG4 = Format{97, "MPEG4", 90000}
	FormatH264  = Format{98, "H264", 90000}
	FormatPCMA  = Format{8, "PCMA", 8000}
)

// Session is a GB28181 SDP body with a single media section.
type Session struct {
	Name      string // s=: Play, Playback, Download, Talk
	Origin    string // o= username: the sender's 20-digit ID
	URI       string // u=: "<channel>:0" for playback/download
	IP        string // c= and o= address: where media goes (offer) or comes from (answer)
	Start     int64  // t= start, Unix seconds (0 for live)
	Stop      int64  // t= stop
	Media     string // "video" (default) or "audio"
	Port      int
	TCP       bool   // TCP/RTP/AVP (RFC 4571) instead of RTP/AVP
	Setup     string // a=setup: for TCP (passive, active, actpass)
	Direction string // recvonly, sendonly, sendrecv (default recvonly)
	Formats   []Format
	SSRC      string // y=: 10 decimal digits
	F         string // f=: media description; written only when non-empty
	// DownloadSpeed adds a=downloadspeed: (Download sessions).
	DownloadSpeed int
	// FileSize is a=filesize: from a Download answer.
	FileSize int64
	// Attrs are extra a= values written after the standard ones, e.g.
	// "stream:1" or "streamprofile:1" for sub-stream selection; on parse
	// they hold the a= lines this package does not interpret.
	Attrs []string
}

// Marshal writes the session with \r\n line endings in the standard order.
// Zero fields take defaults: Name Play, Media video, Direction recvonly,
// Formats [PS/90000]; a=connection:new is added for TCP.
func (s *Session) Marshal() []byte {
	var b strings.Builder
	line := func(format string, args ...any) {
		fmt.Fprintf(&b, format, args...)
		b.WriteString("\r\n")
	}
	name := orDefault(s.Name, NamePlay)
	media := orDefault(s.Media, "video")
	dir := orDefault(s.Direction, "recvonly")
	formats := s.Formats
	if len(formats) == 0 {
		formats = []Format{FormatPS}
	}
	line("v=0")
	line("o=%s 0 0 IN IP4 %s", orDefault(s.Origin, "-"), s.IP)
	line("s=%s", name)
	if s.URI != "" {
		line("u=%s", s.URI)
	}
	line("c=IN IP4 %s", s.IP)
	line("t=%d %d", s.Start, s.Stop)
	proto := "RTP/AVP"
	if s.TCP {
		proto = "TCP/RTP/AVP"
	}
	pts := make([]string, len(formats))
	for i, f := range formats {
		pts[i] = strconv.Itoa(int(f.PayloadType))
	}
	line("m=%s %d %s %s", media, s.Port, proto, strings.Join(pts, " "))
	line("a=%s", dir)
	for _, f := range formats {
		line("a=rtpmap:%d %s/%d", f.PayloadType, f.Name, f.ClockRate)
	}
	if s.DownloadSpeed > 0 {
		line("a=downloadspeed:%d", s.DownloadSpeed)
	}
	if s.FileSize > 0 {
		line("a=filesize:%d", s.FileSize)
	}
	if s.TCP {
		line("a=setup:%s", orDefault(s.Setup, SetupPassive))
		line("a=connection:new")
	}
	for _, a := range s.Attrs {
		line("a=%s", a)
	}
	if s.SSRC != "" {
		line("y=%s", s.SSRC)
	}
	if s.F != "" {
		line("f=%s", s.F)
	}
	return []byte(b.String())
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
