package record

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"

	"pingan/media"
)

// muxer writes one fragmented MP4 file: the init segment once the first
// keyframe has arrived, then one moof+mdat fragment per fragment duration.
// Each fragment is marshalled in memory and appended with one write and an
// fsync, and a failed write is cut off again, so the file always ends with a
// complete fragment — except after a crash during the write itself, which
// Repair undoes.
type muxer struct {
	f       *os.File
	dir     string
	minFree int64 // bytes
	fragDur time.Duration
	free    func(dir string) (int64, error)

	tracks   []*track
	bySrc    map[int]*track
	hasVideo bool

	started   bool
	fragStart time.Duration // media time the open fragment starts at
	seq       uint32
	size      int64 // bytes committed to the file
	duration  time.Duration
	fragments int
	buf       seekablebuffer.Buffer
}

// newMuxer maps the stream's tracks; skipped lists those it cannot store.
func newMuxer(tracks []*media.Track) (m *muxer, skipped []error, err error) {
	m = &muxer{bySrc: make(map[int]*track)}
	for i, mt := range tracks {
		t, err := newTrack(i, mt)
		if err != nil {
			skipped = append(skipped, fmt.Errorf("track %d: %w", i, err))
			continue
		}
		t.id = len(m.tracks) + 1
		m.tracks = append(m.tracks, t)
		m.bySrc[i] = t
		m.hasVideo = m.hasVideo || t.codec.IsVideo()
	}
	if len(m.tracks) == 0 {
		return nil, skipped, ErrNoTracks
	}
	return m, skipped, nil
}

// write adds one unit. Before the first video keyframe (or, without video,
// the first unit) everything is dropped; that unit fixes the origin of
// every track's timeline and triggers the init segment.
func (m *muxer) write(u *media.Unit) error {
	t := m.bySrc[u.Track]
	if t == nil {
		return nil
	}
	if t.codec.IsVideo() && u.Keyframe {
		t.learnParams(u.NALUs)
	}
	if !m.started {
		if m.hasVideo && (!t.codec.IsVideo() || !u.Keyframe) {
			return nil
		}
		if err := m.start(u.PTS, t.scale); err != nil {
			if errors.Is(err, errNoParams) {
				return nil // wait for a keyframe that carries them
			}
			return err
		}
	}
	s, dts, err := t.sample(u)
	if err != nil {
		return err
	}
	rel := dts - t.origin
	if rel < 0 || t.pushed && rel <= t.heldDTS && !t.codec.IsVideo() {
		return nil // audio from before the start, or out of order
	}
	if now := scaleDur(rel, t.scale); now-m.fragStart >= m.fragDur && m.pending() {
		if err := m.flush(); err != nil {
			return err
		}
		m.fragStart = now
	}
	t.push(s, rel)
	return nil
}

// start fixes the origin (pts in clock units of rate) and writes the init
// segment.
func (m *muxer) start(pts, rate int64) error {
	init := fmp4.Init{}
	for _, t := range m.tracks {
		it, err := t.initTrack()
		if err != nil {
			return err
		}
		init.Tracks = append(init.Tracks, it)
	}
	for _, t := range m.tracks {
		t.origin = mulDiv(pts, t.scale, rate)
	}
	m.buf.Reset()
	if err := init.Marshal(&m.buf); err != nil {
		return fmt.Errorf("record: init segment: %w", err)
	}
	if err := m.append(m.buf.Bytes()); err != nil {
		return err
	}
	m.started = true
	return nil
}

// pending reports whether the open fragment holds any finished sample.
func (m *muxer) pending() bool {
	for _, t := range m.tracks {
		if len(t.samples) > 0 {
			return true
		}
	}
	return false
}

// flush writes the open fragment, if it has samples.
func (m *muxer) flush() error {
	part := fmp4.Part{SequenceNumber: m.seq + 1}
	for _, t := range m.tracks {
		if pt := t.take(); pt != nil {
			part.Tracks = append(part.Tracks, pt)
		}
	}
	if len(part.Tracks) == 0 {
		return nil
	}
	m.buf.Reset()
	if err := part.Marshal(&m.buf); err != nil {
		return fmt.Errorf("record: fragment %d: %w", part.SequenceNumber, err)
	}
	if err := m.append(m.buf.Bytes()); err != nil {
		return err
	}
	m.seq++
	m.fragments++
	for _, t := range m.tracks {
		m.duration = max(m.duration, scaleDur(t.end, t.scale))
	}
	return nil
}

// finish releases every held sample and writes the last fragment.
func (m *muxer) finish() error {
	if !m.started {
		return nil
	}
	for _, t := range m.tracks {
		t.releaseLast()
	}
	return m.flush()
}

// append writes b after checking the disk floor, then fsyncs. A failed
// write is truncated away so the file still ends on a complete box.
func (m *muxer) append(b []byte) error {
	if err := m.checkFloor(len(b)); err != nil {
		return err
	}
	n, err := m.f.Write(b)
	if err == nil {
		err = m.f.Sync()
	}
	if err != nil {
		if n > 0 {
			_ = m.f.Truncate(m.size)
			_, _ = m.f.Seek(m.size, io.SeekStart)
		}
		if errors.Is(err, syscall.ENOSPC) {
			return fmt.Errorf("record: write %s: %w (%w)", m.f.Name(), ErrDiskFull, err)
		}
		return fmt.Errorf("record: write %s: %w", m.f.Name(), err)
	}
	m.size += int64(n)
	return nil
}

// checkFloor fails with ErrDiskFull when writing n more bytes would leave
// less than the floor free. The directory may not exist yet: then its
// nearest existing parent is asked.
func (m *muxer) checkFloor(n int) error {
	if m.minFree <= 0 {
		return nil
	}
	dir := m.dir
	for {
		if _, err := os.Stat(dir); err == nil || filepath.Dir(dir) == dir {
			break
		}
		dir = filepath.Dir(dir)
	}
	free, err := m.free(dir)
	if err != nil {
		return err
	}
	if free-int64(n) < m.minFree {
		return fmt.Errorf("record: %d MB free in %s, the floor is %d MB: %w",
			free>>20, dir, m.minFree>>20, ErrDiskFull)
	}
	return nil
}

// createFile creates path (never overwriting) and syncs its directory, so
// the file survives a crash.
func createFile(path string) (*os.File, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return f, nil
}

// scaleDur converts v clock units at rate to a duration without overflow.
func scaleDur(v, rate int64) time.Duration {
	return time.Duration(v/rate)*time.Second + time.Duration((v%rate)*int64(time.Second)/rate)
}

// mulDiv returns v*num/den without overflow for media clock values.
func mulDiv(v, num, den int64) int64 {
	if num == den {
		return v
	}
	return v/den*num + (v%den)*num/den
}
