package signaling

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	pwebrtc "github.com/pion/webrtc/v4"
)

// Trickle ICE for WHIP and WHEP (RFC 9725 §4.3.1): after its offer a
// client PATCHes the session URL with an application/trickle-ice-sdpfrag
// body (RFC 8840 §9): the ICE credentials and, per media section, its mid
// and new a=candidate lines, maybe a=end-of-candidates.

// trickleFragType is the media type of a trickle PATCH body.
const trickleFragType = "application/trickle-ice-sdpfrag"

// Bounds of a fragment.
const (
	maxFragMedia      = 64
	maxFragCandidates = 256
	maxFragLine       = 1024
)

var errBadFrag = errors.New("bad trickle-ice-sdpfrag")

// trickleFrag is a parsed fragment.
type trickleFrag struct {
	Ufrag, Pwd string
	End        bool // session-level a=end-of-candidates
	Media      []fragMedia
}

// fragMedia is one m= section of a fragment.
type fragMedia struct {
	Line       string // the m= line's value ("audio 9 UDP/TLS/RTP/SAVPF 111")
	Mid        string
	Candidates []string // a=candidate values, without "candidate:"
	End        bool     // a=end-of-candidates
}

// parseTrickleFrag parses an sdpfrag. Attributes other than ICE
// credentials, mid, candidates and end-of-candidates are ignored; lines
// other than a=, m= and c= are refused.
func parseTrickleFrag(body string) (trickleFrag, error) {
	var f trickleFrag
	var cur *fragMedia
	ncand := 0
	for n, line := range strings.Split(body, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			continue
		}
		if len(line) > maxFragLine {
			return f, fmt.Errorf("%w: line %d is over %d bytes", errBadFrag, n+1, maxFragLine)
		}
		if len(line) < 2 || line[1] != '=' {
			return f, fmt.Errorf("%w: line %d is not type=value", errBadFrag, n+1)
		}
		val := line[2:]
		switch line[0] {
		case 'c':
			continue
		case 'm':
			if len(f.Media) == maxFragMedia {
				return f, fmt.Errorf("%w: over %d media sections", errBadFrag, maxFragMedia)
			}
			if len(strings.Fields(val)) < 3 {
				return f, fmt.Errorf("%w: line %d: m= needs media, port and protocol", errBadFrag, n+1)
			}
			f.Media = append(f.Media, fragMedia{Line: val})
			cur = &f.Media[len(f.Media)-1]
			continue
		case 'a':
		default:
			return f, fmt.Errorf("%w: line %d: %q lines do not belong in a fragment", errBadFrag, n+1, line[:2])
		}
		name, v, _ := strings.Cut(val, ":")
		var err error
		switch name {
		case "ice-ufrag":
			err = setOnce(&f.Ufrag, v, "ice-ufrag")
		case "ice-pwd":
			err = setOnce(&f.Pwd, v, "ice-pwd")
		case "mid":
			if cur == nil {
				return f, fmt.Errorf("%w: line %d: a=mid outside a media section", errBadFrag, n+1)
			}
			err = setOnce(&cur.Mid, v, "mid")
		case "candidate":
			if cur == nil {
				return f, fmt.Errorf("%w: line %d: a=candidate outside a media section", errBadFrag, n+1)
			}
			if ncand++; ncand > maxFragCandidates {
				return f, fmt.Errorf("%w: over %d candidates", errBadFrag, maxFragCandidates)
			}
			if err = checkCandidate(v); err == nil {
				cur.Candidates = append(cur.Candidates, v)
			}
		case "end-of-candidates":
			if cur == nil {
				f.End = true
			} else {
				cur.End = true
			}
		}
		if err != nil {
			return f, fmt.Errorf("%w: line %d: %v", errBadFrag, n+1, err)
		}
	}
	if len(f.Media) == 0 && !f.End {
		return f, fmt.Errorf("%w: no media section and no end-of-candidates", errBadFrag)
	}
	return f, nil
}

func setOnce(dst *string, v, what string) error {
	if !validToken(v) {
		return fmt.Errorf("bad %s %q", what, v)
	}
	if *dst != "" && *dst != v {
		return fmt.Errorf("two different %s values", what)
	}
	*dst = v
	return nil
}

// validToken accepts the ice-char/token characters of ufrag, pwd and mid.
func validToken(v string) bool {
	if v == "" || len(v) > 256 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// checkCandidate checks the RFC 8839 §5.1 shape of a candidate value:
// foundation component transport priority address port "typ" type
// [extensions as name value pairs].
func checkCandidate(v string) error {
	f := strings.Fields(v)
	if len(f) < 8 || len(f)%2 != 0 {
		return fmt.Errorf("candidate %q: want foundation, component, transport, priority, address, port, typ and type", v)
	}
	if !validToken(f[0]) || len(f[0]) > 32 {
		return fmt.Errorf("candidate foundation %q", f[0])
	}
	if c, err := strconv.ParseUint(f[1], 10, 8); err != nil || c == 0 {
		return fmt.Errorf("candidate component %q", f[1])
	}
	if t := strings.ToLower(f[2]); t != "udp" && t != "tcp" {
		return fmt.Errorf("candidate transport %q", f[2])
	}
	if _, err := strconv.ParseUint(f[3], 10, 32); err != nil {
		return fmt.Errorf("candidate priority %q", f[3])
	}
	if !validToken(f[4]) {
		return fmt.Errorf("candidate address %q", f[4])
	}
	if _, err := strconv.ParseUint(f[5], 10, 16); err != nil {
		return fmt.Errorf("candidate port %q", f[5])
	}
	if f[6] != "typ" {
		return fmt.Errorf("candidate: %q where typ belongs", f[6])
	}
	switch f[7] {
	case "host", "srflx", "prflx", "relay":
	default:
		return fmt.Errorf("candidate type %q", f[7])
	}
	return nil
}

// String encodes f as an sdpfrag (credentials first, then each section).
func (f trickleFrag) String() string {
	var b strings.Builder
	if f.Ufrag != "" {
		b.WriteString("a=ice-ufrag:" + f.Ufrag + "\r\n")
	}
	if f.Pwd != "" {
		b.WriteString("a=ice-pwd:" + f.Pwd + "\r\n")
	}
	if f.End {
		b.WriteString("a=end-of-candidates\r\n")
	}
	for _, m := range f.Media {
		b.WriteString("m=" + m.Line + "\r\n")
		if m.Mid != "" {
			b.WriteString("a=mid:" + m.Mid + "\r\n")
		}
		for _, c := range m.Candidates {
			b.WriteString("a=candidate:" + c + "\r\n")
		}
		if m.End {
			b.WriteString("a=end-of-candidates\r\n")
		}
	}
	return b.String()
}

// candidates lists the fragment's candidates for pion, each with its
// section's mid and index; end-of-candidates becomes an empty candidate.
func (f trickleFrag) candidates() []pwebrtc.ICECandidateInit {
	var out []pwebrtc.ICECandidateInit
	if f.End {
		out = append(out, pwebrtc.ICECandidateInit{})
	}
	for i, m := range f.Media {
		idx := uint16(i)
		var mid *string
		if m.Mid != "" {
			mid = &m.Mid
		}
		for _, c := range m.Candidates {
			out = append(out, pwebrtc.ICECandidateInit{Candidate: "candidate:" + c, SDPMid: mid, SDPMLineIndex: &idx})
		}
		if m.End {
			out = append(out, pwebrtc.ICECandidateInit{SDPMid: mid, SDPMLineIndex: &idx})
		}
	}
	return out
}
