package rtpin

import (
	"time"

	"github.com/pion/rtp"
)

// restartJump is how far the sequence number may jump (either way) before
// the sender is taken to have restarted rather than lost packets.
const restartJump = 3000

// reorder puts UDP packets back in sequence-number order (gb28181.md §13:
// "reorder by sequence number, tolerate gaps"). It holds at most size-1
// packets after a missing one, for at most delay; then it gives up on the
// missing packets and reports a gap, after which the caller resets its
// demuxer and waits for a keyframe. With size 1 it never holds anything
// and only detects gaps (TCP).
type reorder struct {
	size    int
	delay   time.Duration
	slots   []*rtp.Packet // by seq % size
	held    int
	next    uint16 // the sequence number expected next
	init    bool
	since   time.Time // when the current wait for a missing packet began
	pending bool      // a gap was skipped and no packet has been emitted since

	lost, late uint64 // packets never seen; packets too late or duplicated
}

func newReorder(size int, delay time.Duration) *reorder {
	n := 1
	for n < size && n < 1024 { // a power of two, so slots survive the uint16 wrap
		n <<= 1
	}
	return &reorder{size: n, delay: delay, slots: make([]*rtp.Packet, n)}
}

// emitFunc receives packets in order; gap is true when packets were lost
// just before p.
type emitFunc func(p *rtp.Packet, gap bool)

// push files p and emits every packet that is now in order.
func (r *reorder) push(p *rtp.Packet, now time.Time, emit emitFunc) {
	seq := p.SequenceNumber
	if !r.init {
		r.init, r.next = true, seq
	}
	d := int(int16(seq - r.next))
	switch {
	case d < -restartJump || d > restartJump: // sender restarted its sequence
		r.drain(emit)
		r.next = seq
		r.store(p, now)
		r.pop(now, emit, true)
		return
	case d < 0:
		r.late++
		return
	case d >= r.size: // too far ahead to hold: give up on the oldest missing ones
		r.advance(seq-uint16(r.size-1), emit)
	}
	if r.slots[int(seq)%r.size] != nil {
		r.late++ // duplicate
		return
	}
	r.store(p, now)
	r.pop(now, emit, false)
}

func (r *reorder) store(p *rtp.Packet, now time.Time) {
	if r.held == 0 {
		r.since = now
	}
	r.slots[int(p.SequenceNumber)%r.size] = p
	r.held++
}

// pop emits consecutive packets from next on.
func (r *reorder) pop(now time.Time, emit emitFunc, gap bool) {
	progressed := false
	for {
		i := int(r.next) % r.size
		p := r.slots[i]
		if p == nil || p.SequenceNumber != r.next {
			break
		}
		r.slots[i] = nil
		r.held--
		r.next++
		emit(p, gap || r.pending)
		gap, progressed, r.pending = false, true, false
	}
	if progressed && r.held > 0 {
		r.since = now
	}
}

// deadline is when expire would next give up on a missing packet (zero
// when nothing is held).
func (r *reorder) deadline() time.Time {
	if r.held == 0 {
		return time.Time{}
	}
	return r.since.Add(r.delay)
}

// expire gives up on missing packets that held packets have waited on
// for longer than delay.
func (r *reorder) expire(now time.Time, emit emitFunc) {
	for r.held > 0 && !now.Before(r.since.Add(r.delay)) {
		r.skipToHeld()
		r.pop(now, emit, true)
	}
}

// advance moves next up to to, emitting the held packets on the way and
// counting the holes as lost.
func (r *reorder) advance(to uint16, emit emitFunc) {
	gap := false
	for r.next != to {
		i := int(r.next) % r.size
		if p := r.slots[i]; p != nil && p.SequenceNumber == r.next {
			r.slots[i] = nil
			r.held--
			emit(p, gap)
			gap = false
		} else {
			r.lost++
			gap = true
		}
		r.next++
	}
	r.pending = gap
}

// drain emits everything held, in order, skipping the holes.
func (r *reorder) drain(emit emitFunc) {
	for r.held > 0 {
		r.skipToHeld()
		r.pop(time.Time{}, emit, true)
	}
}

// skipToHeld moves next to the oldest held packet, counting the skipped
// sequence numbers as lost.
func (r *reorder) skipToHeld() {
	for k := 1; k < r.size; k++ {
		s := r.next + uint16(k)
		if p := r.slots[int(s)%r.size]; p != nil && p.SequenceNumber == s {
			r.lost += uint64(k)
			r.next = s
			return
		}
	}
	clear(r.slots) // unreachable while held counts the slots; never loop forever
	r.held = 0
}
