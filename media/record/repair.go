package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
)

// FileInfo describes a recording file as Repair found it.
type FileInfo struct {
	Size      int64         // bytes, after any cut
	Duration  time.Duration // media time up to the end of the last fragment
	Fragments int
	Cut       int64 // bytes of an incomplete trailing fragment removed
}

// box is one top-level box of a file.
type box struct {
	typ       string
	off, size int64
}

// Repair makes a recording that a crash interrupted end on its last
// complete fragment: it walks the top-level boxes, truncates an incomplete
// trailing box (or a moof without its mdat) and reports the playable
// duration. A file without an init segment is ErrNotMP4. Run it only on
// files no recording is writing (the hub does so at start-up).
func Repair(path string) (FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return FileInfo{}, fmt.Errorf("record: repair: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return FileInfo{}, fmt.Errorf("record: repair: %w", err)
	}
	boxes, end := scanBoxes(f, st.Size())
	// A fragment is a moof followed by its mdat: drop a lone trailing moof.
	if n := len(boxes); n > 0 && boxes[n-1].typ == "moof" {
		end = boxes[n-1].off
		boxes = boxes[:n-1]
	}
	if len(boxes) < 2 || boxes[0].typ != "ftyp" || boxes[1].typ != "moov" {
		return FileInfo{}, fmt.Errorf("record: repair %s: %w", path, ErrNotMP4)
	}
	info := FileInfo{Size: end, Cut: st.Size() - end}
	if info.Cut > 0 {
		if err := f.Truncate(end); err != nil {
			return FileInfo{}, fmt.Errorf("record: repair: %w", err)
		}
		if err := f.Sync(); err != nil {
			return FileInfo{}, fmt.Errorf("record: repair: %w", err)
		}
	}
	var init fmp4.Init
	if err := init.Unmarshal(io.NewSectionReader(f, 0, boxes[1].off+boxes[1].size)); err != nil {
		return info, fmt.Errorf("record: repair %s: init segment: %w", path, err)
	}
	var last *box
	for i := range boxes {
		if boxes[i].typ == "moof" {
			info.Fragments++
			last = &boxes[i]
		}
	}
	if last != nil {
		d, err := fragmentEnd(f, &init, last.off, end)
		if err != nil {
			return info, fmt.Errorf("record: repair %s: %w", path, err)
		}
		info.Duration = d
	}
	return info, nil
}

// scanBoxes lists the complete top-level boxes of f and where the last
// complete one ends.
func scanBoxes(f io.ReaderAt, size int64) ([]box, int64) {
	var out []box
	var off int64
	hdr := make([]byte, 16)
	for off+8 <= size {
		if _, err := f.ReadAt(hdr[:8], off); err != nil {
			break
		}
		n := int64(binary.BigEndian.Uint32(hdr[:4]))
		typ := string(hdr[4:8])
		if n == 1 { // 64-bit size follows
			if _, err := f.ReadAt(hdr[8:16], off+8); err != nil {
				break
			}
			n = int64(binary.BigEndian.Uint64(hdr[8:16]))
		}
		if n < 8 || off+n > size { // size 0 ("to the end") is never written by us
			break
		}
		out = append(out, box{typ: typ, off: off, size: n})
		off += n
	}
	return out, off
}

// fragmentEnd returns the media time at the end of the fragment starting at
// off: the latest track end (base time plus sample durations).
func fragmentEnd(f io.ReaderAt, init *fmp4.Init, off, end int64) (time.Duration, error) {
	buf := make([]byte, end-off)
	if _, err := f.ReadAt(buf, off); err != nil {
		return 0, err
	}
	var parts fmp4.Parts
	if err := parts.Unmarshal(buf); err != nil {
		return 0, fmt.Errorf("last fragment: %w", err)
	}
	scales := make(map[int]int64, len(init.Tracks))
	for _, t := range init.Tracks {
		scales[t.ID] = int64(t.TimeScale)
	}
	var d time.Duration
	for _, p := range parts {
		for _, pt := range p.Tracks {
			scale := scales[pt.ID]
			if scale == 0 {
				return 0, errors.New("fragment for an unknown track")
			}
			e := int64(pt.BaseTime)
			for _, s := range pt.Samples {
				e += int64(s.Duration)
			}
			d = max(d, scaleDur(e, scale))
		}
	}
	return d, nil
}
