package room

import "sync/atomic"

// speakingLevel is the least average loudness (127 minus the RFC 6464
// level in -dBov) that counts as speaking: louder than -50 dBov.
const speakingLevel = 127 - 50

// levelMeter sums a participant's audio levels between two speaker
// detections. add runs on the ingest's read goroutine; take on the
// manager's timer: both lock-free.
type levelMeter struct {
	sum   atomic.Uint64
	count atomic.Uint64
}

// add records one packet's RFC 6464 level (0 = 0 dBov loudest … 127 silence).
func (m *levelMeter) add(level uint8) {
	m.sum.Add(uint64(127 - min(level, 127)))
	m.count.Add(1)
}

// take returns the average loudness since the last take.
func (m *levelMeter) take() (float64, bool) {
	n := m.count.Swap(0)
	s := m.sum.Swap(0)
	if n == 0 {
		return 0, false
	}
	return float64(s) / float64(n), true
}
