package rtpin

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// rtpHeader is a minimal RTP packet: V=2, PT 96, seq 1, ts 0, SSRC 1, 2 payload bytes.
var rtpHeader = []byte{0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xAA, 0xBB}

// casesFraming drives TestFraming and seeds FuzzRFC4571.
var casesFraming = []struct {
	name    string
	in      []byte
	packets int
	garbage int
	err     error
}{
	{"one", rfc4571(rtpHeader, false), 1, 0, io.EOF},
	{"two", append(rfc4571(rtpHeader, false), rfc4571(rtpHeader, false)...), 2, 0, io.EOF},
	{"interleaved", append(rfc4571(rtpHeader, true), rfc4571(rtpHeader, false)...), 2, 0, io.EOF},
	{"empty frame skipped", append([]byte{0, 0}, rfc4571(rtpHeader, false)...), 1, 0, io.EOF},
	{"garbage then frame", append([]byte{0xFF, 0x01, 0x02}, rfc4571(rtpHeader, false)...), 1, 3, io.EOF},
	{"cut short", rfc4571(rtpHeader, false)[:8], 0, 0, io.ErrUnexpectedEOF},
	{"lone byte", []byte{0x05}, 0, 0, io.ErrUnexpectedEOF},
	{"nothing", nil, 0, 0, io.EOF},
}

func TestFraming(t *testing.T) {
	for _, tc := range casesFraming {
		t.Run(tc.name, func(t *testing.T) {
			f := newFramer(bytes.NewReader(tc.in))
			n := 0
			var err error
			for {
				var b []byte
				if b, err = f.next(); err != nil {
					break
				}
				if !bytes.Equal(b, rtpHeader) {
					t.Fatalf("packet %x", b)
				}
				n++
			}
			if n != tc.packets || f.garbage != tc.garbage || !errors.Is(err, tc.err) {
				t.Errorf("packets %d garbage %d err %v; want %d %d %v", n, f.garbage, err, tc.packets, tc.garbage, tc.err)
			}
		})
	}
}

// FuzzRFC4571: the TCP framing reader never panics, always ends, and only
// returns packets that look like RTP.
func FuzzRFC4571(f *testing.F) {
	for _, tc := range casesFraming {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr := newFramer(bytes.NewReader(data))
		for i := 0; ; i++ {
			if i > len(data) {
				t.Fatal("framer does not consume its input")
			}
			b, err := fr.next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("error %v", err)
				}
				return
			}
			if len(b) < minRTP || b[0]>>6 != 2 {
				t.Fatalf("returned %x", b)
			}
		}
	})
}
