package rtpin

import (
	"bufio"
	"io"
)

// framer reads RTP packets from a TCP stream framed per RFC 4571: a 16-bit
// big-endian length, then that many bytes of RTP (gb28181.md §13). It also
// takes the 4-byte RTSP-interleaved prefix ('$', channel, 16-bit length)
// some devices send. A prefix that does not lead to an RTP version-2 header
// is garbage: the framer skips one byte and looks again, so it resyncs after
// a corrupted length instead of reading 64 KiB of nonsense.
type framer struct {
	br      *bufio.Reader
	buf     []byte
	garbage int // bytes skipped while resyncing
}

// minRTP is the size of an RTP header without CSRCs or extension.
const minRTP = 12

func newFramer(r io.Reader) *framer {
	// The buffer holds the largest frame plus its prefix, so Peek never
	// fails with ErrBufferFull.
	return &framer{br: bufio.NewReaderSize(r, 4+65535)}
}

// next returns the next RTP packet. The slice is valid until the next call.
// At the end of the stream it returns io.EOF (io.ErrUnexpectedEOF when a
// frame was cut short).
func (f *framer) next() ([]byte, error) {
	for {
		hdr, n, err := f.prefix()
		if err != nil {
			return nil, err
		}
		if n == 0 { // an empty frame (keepalive): skip the prefix
			if _, err := f.br.Discard(hdr); err != nil {
				return nil, err
			}
			continue
		}
		if n < minRTP {
			f.skip()
			continue
		}
		b, err := f.br.Peek(hdr + 1)
		if err != nil {
			return nil, eof(err)
		}
		if b[hdr]>>6 != 2 {
			f.skip()
			continue
		}
		if _, err := f.br.Discard(hdr); err != nil {
			return nil, eof(err)
		}
		if cap(f.buf) < n {
			f.buf = make([]byte, n)
		}
		f.buf = f.buf[:n]
		if _, err := io.ReadFull(f.br, f.buf); err != nil {
			return nil, eof(err)
		}
		return f.buf, nil
	}
}

// prefix peeks at the framing prefix and returns its size (2 or 4) and the
// length it announces.
func (f *framer) prefix() (hdr, n int, err error) {
	b, err := f.br.Peek(2)
	if err != nil {
		if len(b) == 0 && err == io.EOF {
			return 0, 0, io.EOF
		}
		return 0, 0, eof(err)
	}
	if b[0] == '$' {
		// RTSP interleaved: '$', channel, length, then RTP (version 2).
		if p, err := f.br.Peek(5); err == nil && p[4]>>6 == 2 {
			return 4, int(p[2])<<8 | int(p[3]), nil
		}
	}
	return 2, int(b[0])<<8 | int(b[1]), nil
}

func (f *framer) skip() {
	f.br.Discard(1) //nolint:errcheck // a Peek of at least 2 bytes just succeeded
	f.garbage++
}

func eof(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
