package gb28181

import (
	"fmt"
	"math/bits"
	"sync"
)

// ssrcSeqs is how many stream sequences one media node has: the last four
// digits of the 10-digit y= SSRC (digest §11).
const ssrcSeqs = 10000

// ssrcPool hands out the per-node SSRC sequence numbers of live sessions
// from a bitset, round-robin so a just-released value is not reused at
// once (a late packet of the old session would pass the SSRC check).
type ssrcPool struct {
	mu   sync.Mutex
	used [(ssrcSeqs + 63) / 64]uint64
	next int
	n    int
}

// acquire returns a free sequence in 0..9999.
func (p *ssrcPool) acquire() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n >= ssrcSeqs {
		return 0, fmt.Errorf("gb28181: all %d live SSRC sequences in use", ssrcSeqs)
	}
	for range ssrcSeqs {
		seq := p.next
		p.next = (p.next + 1) % ssrcSeqs
		w, b := seq/64, uint(seq%64)
		if p.used[w]&(1<<b) == 0 {
			p.used[w] |= 1 << b
			p.n++
			return seq, nil
		}
	}
	return 0, fmt.Errorf("gb28181: all %d live SSRC sequences in use", ssrcSeqs)
}

// release returns seq to the pool; releasing a free value does nothing.
func (p *ssrcPool) release(seq int) {
	if seq < 0 || seq >= ssrcSeqs {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	w, b := seq/64, uint(seq%64)
	if p.used[w]&(1<<b) != 0 {
		p.used[w] &^= 1 << b
		p.n--
	}
}

// inUse counts the sequences handed out.
func (p *ssrcPool) inUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, w := range p.used {
		n += bits.OnesCount64(w)
	}
	return n
}
