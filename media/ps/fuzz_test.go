package ps

import "testing"

// FuzzDemux feeds arbitrary bytes cut into payloads; the seeds are the
// casesDemux table. cut picks the payload size (low bits), whether the
// timestamp advances per payload (bit 12) and the marker pattern (bits 13–14).
func FuzzDemux(f *testing.F) {
	for _, c := range casesDemux {
		f.Add(c.ps, uint16(0))
		f.Add(c.ps, uint16(7|1<<12|1<<13))
	}
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		var d Demuxer
		step := len(data)
		if cut&0xFFF != 0 {
			step = int(cut&0xFFF)%1500 + 1
		}
		var ts uint32
		var frames []Frame
		for i := 0; len(data) > 0; i++ {
			n := min(step, len(data))
			marker := false
			switch cut >> 13 & 3 {
			case 1:
				marker = n == len(data)
			case 2:
				marker = true
			case 3:
				marker = i%3 == 2
			}
			if cut&(1<<12) != 0 {
				ts += 3600
			}
			out, _ := d.Push(data[:n], ts, marker)
			frames = append(frames, out...)
			data = data[n:]
		}
		out, _ := d.Flush()
		frames = append(frames, out...)
		for _, fr := range frames {
			size := len(fr.Payload)
			for _, n := range fr.NALUs {
				if len(n) == 0 {
					t.Fatal("empty NALU")
				}
				size += len(n)
			}
			if size > MaxFrameSize || size == 0 {
				t.Fatalf("frame size %d", size)
			}
			if fr.Video != isVideoID(fr.StreamID) || (fr.Video && fr.Payload != nil) || (!fr.Video && fr.NALUs != nil) {
				t.Fatalf("inconsistent frame %+v", fr)
			}
			if fr.PTS < 0 || fr.PTS >= 1<<33 {
				t.Fatalf("PTS %d", fr.PTS)
			}
		}
	})
}
