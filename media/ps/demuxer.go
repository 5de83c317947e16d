package ps

import (
	"errors"
	"fmt"
)

// Demuxer reassembles frames from the RTP payloads of one SSRC. The zero
// value is ready to use. It is not safe for concurrent use.
//
// Frame boundaries (gb28181.md §13): the RTP marker bit, a change of RTP
// timestamp, a pack header at the start of a payload (when no unit is
// unfinished, since pack stuffing and audio may hold those bytes), and a
// PES whose PTS differs from the frame being built. Devices that set the
// marker on every packet are detected (a marked packet followed by one with
// the same timestamp) and from then on only the other rules apply. A
// marker never ends a frame while a PES is still incomplete.
type Demuxer struct {
	buf []byte // unparsed PS bytes; buf[off:] is pending
	off int

	ts               uint32
	haveTS           bool
	lastMarker       bool
	markerUnreliable bool

	psm     [256]uint8 // stream_type by stream_id from the last PSM (0 = none)
	sniffed [256]Codec // codec guessed from NAL headers when the PSM is absent

	video, audio accumulator
	out          []Frame
	errs         []error
}

// accumulator collects the PES payloads of one frame.
type accumulator struct {
	active   bool
	id       uint8
	hasPTS   bool
	pts, dts int64
	data     []byte
	dropped  bool // over MaxFrameSize
	lastSize int
}

// Push feeds one RTP payload. It returns the frames completed by this
// payload (possibly none) and an error describing anything skipped; the
// frames are valid even when the error is not nil, and the Demuxer stays
// usable. Returned frames do not alias payload or internal buffers.
func (d *Demuxer) Push(payload []byte, rtpTimestamp uint32, marker bool) ([]Frame, error) {
	d.out, d.errs = nil, nil
	newTS := d.haveTS && rtpTimestamp != d.ts
	if d.haveTS && !newTS && d.lastMarker {
		d.markerUnreliable = true
	}
	// A pack header at the start of a payload ends the frame only at a unit
	// boundary: inside an unfinished unit it may be pack stuffing or audio
	// samples. A new timestamp with a start code means the unfinished unit
	// lost its tail.
	if newTS || (d.pending() == 0 && hasPrefix(payload, 0xBA)) {
		d.endFrame()
		if d.pending() > 0 && len(payload) >= 4 && isStartCode(payload) && payload[3] >= 0xB9 {
			d.errs = append(d.errs, fmt.Errorf("%w: %d bytes", ErrTruncated, d.pending()))
			d.discardPending()
		}
	}
	d.ts, d.haveTS, d.lastMarker = rtpTimestamp, true, marker
	d.buf = append(d.buf, payload...)
	d.parse(false)
	if marker && !d.markerUnreliable {
		d.parse(true) // a marker ends an unbounded PES
		if d.pending() == 0 {
			d.emit(&d.video)
			d.emit(&d.audio)
		}
	}
	d.compact()
	return d.result()
}

// Flush ends the current frame (end of stream) and returns what it held.
func (d *Demuxer) Flush() ([]Frame, error) {
	d.out, d.errs = nil, nil
	d.endFrame()
	d.discardPending()
	return d.result()
}

// Reset drops buffered bytes and frames in progress, for example after an
// RTP sequence gap. The stream map and sniffed codecs are kept.
func (d *Demuxer) Reset() {
	d.discardPending()
	d.video = accumulator{lastSize: d.video.lastSize}
	d.audio = accumulator{lastSize: d.audio.lastSize}
	d.haveTS, d.lastMarker = false, false
}

// StreamType returns the PSM stream_type last announced for a stream_id (0 if none).
func (d *Demuxer) StreamType(streamID uint8) uint8 { return d.psm[streamID] }

func (d *Demuxer) result() ([]Frame, error) {
	out, err := d.out, errors.Join(d.errs...)
	d.out, d.errs = nil, nil
	return out, err
}

func (d *Demuxer) pending() int { return len(d.buf) - d.off }

func (d *Demuxer) discardPending() {
	d.buf, d.off = d.buf[:0], 0
}

func (d *Demuxer) compact() {
	if d.off == 0 {
		return
	}
	n := copy(d.buf, d.buf[d.off:])
	d.buf, d.off = d.buf[:n], 0
	if cap(d.buf) > 4*MaxPESPayload && n < MaxPESPayload {
		d.buf = append([]byte(nil), d.buf...) // release a buffer grown by a huge unit
	}
}

// endFrame finishes an unbounded video PES and emits both accumulators.
func (d *Demuxer) endFrame() {
	d.parse(true)
	d.emit(&d.video)
	d.emit(&d.audio)
}

// parse consumes every complete unit in buf[off:]. With final set, an
// unbounded video PES (length 0) takes the rest of the buffer.
func (d *Demuxer) parse(final bool) {
	for {
		b := d.buf[d.off:]
		if len(b) < 4 {
			return
		}
		if !isStartCode(b) || b[3] < 0xB9 {
			d.resync()
			continue
		}
		n, ok := d.unit(b, final)
		if !ok {
			if d.pending() > MaxFrameSize+MaxPESPayload {
				d.errs = append(d.errs, fmt.Errorf("%w: unterminated unit", ErrFrameTooLarge))
				d.discardPending()
			}
			return
		}
		d.off += n
	}
}

// resync skips to the next pack header, keeping a possible partial start code.
func (d *Demuxer) resync() {
	b := d.buf[d.off:]
	for i := 1; i+4 <= len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 && b[i+3] == 0xBA {
			d.errs = append(d.errs, fmt.Errorf("%w: %d bytes", ErrGarbage, i))
			d.off += i
			return
		}
	}
	skip := max(len(b)-3, 1)
	d.errs = append(d.errs, fmt.Errorf("%w: %d bytes", ErrGarbage, skip))
	d.off += skip
}

// unit handles the unit at the start of b and returns its length, or false
// when b does not hold all of it yet.
func (d *Demuxer) unit(b []byte, final bool) (int, bool) {
	id := b[3]
	switch {
	case id == 0xBA:
		return d.packHeader(b)
	case id == 0xB9: // program end code
		return 4, true
	}
	if len(b) < 6 {
		return 0, false
	}
	n := 6 + (int(b[4])<<8 | int(b[5]))
	if n == 6 && isVideoID(id) {
		return d.unboundedPES(b, final)
	}
	if len(b) < n {
		return 0, false
	}
	u := b[:n]
	switch {
	case id == 0xBC:
		d.parsePSM(u)
	case isVideoID(id) || isAudioID(id):
		d.parsePES(u)
	}
	// 0xBB system header, 0xBD/0xBE/0xBF private and padding, 0xF0–0xFF: skipped by length.
	return n, true
}

// packHeader returns the length of an MPEG-2 pack header (14 bytes plus
// stuffing, whose values are never checked) or an MPEG-1 one (12 bytes).
func (d *Demuxer) packHeader(b []byte) (int, bool) {
	if len(b) < 5 {
		return 0, false
	}
	switch {
	case b[4]&0xC0 == 0x40:
		if len(b) < 14 {
			return 0, false
		}
		n := 14 + int(b[13]&0x07)
		return n, len(b) >= n
	case b[4]&0xF0 == 0x20:
		return 12, len(b) >= 12
	}
	d.errs = append(d.errs, fmt.Errorf("%w: pack header version byte %#02x", ErrGarbage, b[4]))
	return 4, true
}

// unboundedPES handles a video PES with PES_packet_length 0: its payload runs
// to the next start code that cannot occur inside a NAL unit (00 00 01 ≥ B9).
func (d *Demuxer) unboundedPES(b []byte, final bool) (int, bool) {
	for i := 6; i+4 <= len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 && b[i+3] >= 0xB9 {
			d.parsePES(b[:i])
			return i, true
		}
	}
	if !final {
		return 0, false
	}
	d.parsePES(b)
	return len(b), true
}

func isStartCode(b []byte) bool { return len(b) >= 3 && b[0] == 0 && b[1] == 0 && b[2] == 1 }

func hasPrefix(b []byte, id byte) bool { return len(b) >= 4 && isStartCode(b) && b[3] == id }

func isVideoID(id uint8) bool { return id >= 0xE0 && id <= 0xEF }

func isAudioID(id uint8) bool { return id >= 0xC0 && id <= 0xDF }
