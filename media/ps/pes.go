package ps

import "fmt"

// parsePES reads one PES packet (ISO/IEC 13818-1 §2.4.3.6) and adds its
// payload to the video or audio frame being built.
func (d *Demuxer) parsePES(u []byte) {
	id := u[3]
	if len(u) < 9 || u[6]&0xC0 != 0x80 {
		d.errs = append(d.errs, fmt.Errorf("%w: stream %#02x, %d bytes", ErrBadPES, id, len(u)))
		return
	}
	flags, hl := u[7]>>6, int(u[8])
	if 9+hl > len(u) {
		d.errs = append(d.errs, fmt.Errorf("%w: header length %d > %d", ErrBadPES, hl, len(u)-9))
		return
	}
	var pts, dts int64
	hasPTS := flags&0x2 != 0 && hl >= 5
	if hasPTS {
		pts = readTimestamp(u[9:])
		dts = pts
		if flags == 0x3 && hl >= 10 {
			dts = readTimestamp(u[14:])
		}
	}
	a := &d.audio
	if isVideoID(id) {
		a = &d.video
	}
	if a.active && (a.id != id || (hasPTS && a.hasPTS && pts != a.pts)) {
		d.emit(a)
	}
	if !a.active {
		a.active, a.id, a.hasPTS, a.dropped = true, id, false, false
		a.data = make([]byte, 0, a.lastSize)
	}
	if hasPTS && !a.hasPTS {
		a.pts, a.dts, a.hasPTS = pts, dts, true
	}
	payload := u[9+hl:]
	if a.dropped {
		return
	}
	if len(a.data)+len(payload) > MaxFrameSize {
		d.errs = append(d.errs, fmt.Errorf("%w: stream %#02x", ErrFrameTooLarge, id))
		a.dropped, a.data = true, nil
		return
	}
	a.data = append(a.data, payload...)
}

// readTimestamp decodes a 33-bit PTS/DTS field (5 bytes, marker bits ignored).
func readTimestamp(b []byte) int64 {
	return int64(b[0]>>1&0x07)<<30 | int64(b[1])<<22 | int64(b[2]>>1)<<15 | int64(b[3])<<7 | int64(b[4]>>1)
}

// parsePSM reads a program stream map (ISO/IEC 13818-1 §2.5.4) and replaces
// the stream-type table. The CRC is not checked (many devices send garbage).
func (d *Demuxer) parsePSM(u []byte) {
	if len(u) < 12 {
		d.errs = append(d.errs, fmt.Errorf("%w: %d bytes", ErrBadPSM, len(u)))
		return
	}
	p := 10 + (int(u[8])<<8 | int(u[9]))
	if p+2 > len(u) {
		d.errs = append(d.errs, fmt.Errorf("%w: info length", ErrBadPSM))
		return
	}
	end := min(p+2+(int(u[p])<<8|int(u[p+1])), len(u))
	p += 2
	var table [256]uint8
	for p+4 <= end {
		st, id := u[p], u[p+1]
		table[id] = st
		p += 4 + (int(u[p+2])<<8 | int(u[p+3]))
	}
	d.psm = table
}

// emit turns a finished accumulator into a Frame.
func (d *Demuxer) emit(a *accumulator) {
	if !a.active {
		return
	}
	defer func() {
		a.active, a.data = false, nil
	}()
	if a.dropped || len(a.data) == 0 {
		return
	}
	a.lastSize = min(len(a.data), MaxFrameSize)
	f := Frame{
		StreamID:   a.id,
		StreamType: d.psm[a.id],
		Video:      isVideoID(a.id),
		PTS:        int64(d.ts),
		DTS:        int64(d.ts),
	}
	if a.hasPTS {
		f.PTS, f.DTS = a.pts, a.dts
	}
	if f.StreamType != 0 {
		f.Codec = codecOfStreamType(f.StreamType)
	}
	if f.Video {
		if d.videoFrame(&f, a.data); len(f.NALUs) == 0 {
			return // only AUDs or zero bytes
		}
	} else {
		if f.StreamType == 0 {
			f.Codec = sniffAudio(a.data)
		}
		f.Payload = a.data
	}
	d.out = append(d.out, f)
}

func (d *Demuxer) videoFrame(f *Frame, data []byte) {
	nalus := splitAnnexB(data)
	if f.StreamType == 0 {
		if c := sniffVideo(nalus); c != CodecUnknown {
			d.sniffed[f.StreamID] = c
		}
		f.Codec = d.sniffed[f.StreamID]
	}
	f.NALUs = nalus[:0]
	for _, n := range nalus {
		switch {
		case f.Codec == H264 && n[0]&0x1F == 9, f.Codec == H265 && n[0]>>1&0x3F == 35:
			continue // access unit delimiter
		}
		f.NALUs = append(f.NALUs, n)
		f.Keyframe = f.Keyframe || isKeyNALU(f.Codec, n[0])
	}
}
