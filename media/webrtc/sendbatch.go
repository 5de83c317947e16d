package webrtc

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/pion/transport/v5"
	pwebrtc "github.com/pion/webrtc/v4"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Unit batching: a WHEP session (or room subscriber) sends a unit's packets
// (a video frame is several FU-A fragments, all to the same browser) with
// one sendmmsg in which each run of equal-sized packets is one UDP GSO
// message (Linux ≥ 4.18), so the kernel walks its send path once per run
// instead of once per packet. Per-packet sendto dominated the hub's CPU;
// sendmmsg alone saves only the syscall entry, which measured as nothing
// (BenchmarkUnitWrite), so without GSO packets go out one by one as before.
//
// The ICE mux's sockets are wrapped in a unitConn. A session registers the
// browser's address (the selected candidate pair's remote) in the engine's
// sendRegistry; while it writes a unit, writes to that address are copied
// into a pooled buffer instead of sent, and the session flushes them when
// the unit is done. No timer, no extra goroutine, no added delay beyond the
// unit's own SRTP work; writes to addresses that are not batching (STUN,
// DTLS, other sessions between units) go out at once as before.

const (
	// A batch holds a P-frame of a 2-4 Mbit/s stream; a bigger unit (a
	// keyframe) is sent in several batches. Sessions preempted mid-unit
	// each hold a buffer, so it stays small (GSO allows 64 segments, 64 KB).
	batchMaxPackets = 32
	batchMaxBytes   = 16 * 1024
)

// sendRegistry maps a browser's address to its session's queue.
type sendRegistry struct {
	open atomic.Int32 // queues open now; 0 skips the map on every write
	m    sync.Map     // netip.AddrPort → *sendQueue
	// batched counts packets sent through a queue, messages the
	// sendmmsg messages they took (fewer with GSO).
	batched, messages atomic.Uint64
}

func (r *sendRegistry) register(dst netip.AddrPort) *sendQueue {
	q := &sendQueue{reg: r, dst: dst, addr: net.UDPAddrFromAddrPort(dst)}
	if _, taken := r.m.LoadOrStore(dst, q); taken {
		return nil // an address already taken (a stale session): no batching
	}
	return q
}

func (r *sendRegistry) unregister(q *sendQueue) {
	if r != nil && q != nil {
		q.gone.Store(true)
		r.m.CompareAndDelete(q.dst, q)
	}
}

// sendQueue collects one session's writes while a unit is being sent.
type sendQueue struct {
	reg  *sendRegistry
	dst  netip.AddrPort
	addr *net.UDPAddr // dst for sendmmsg, built once
	gone atomic.Bool  // unregistered: a unitConn's cached pointer is stale

	mu   sync.Mutex
	open int       // writers inside begin/end (a subscriber's forwards share the queue)
	conn *unitConn // socket of the queued packets
	b    *batchBuf
}

// batchBuf holds queued packets; pooled, so an idle session holds none.
type batchBuf struct {
	data [batchMaxBytes]byte
	used int
	pkts [][]byte
	msgs []ipv4.Message
}

var batchBufs = sync.Pool{New: func() any {
	return &batchBuf{pkts: make([][]byte, 0, batchMaxPackets), msgs: make([]ipv4.Message, 0, batchMaxPackets)}
}}

// begin starts queueing writes to the peer's address.
func (q *sendQueue) begin() {
	q.mu.Lock()
	q.open++
	q.mu.Unlock()
	q.reg.open.Add(1)
}

// end sends what was queued (by any writer) and stops queueing once the
// last writer is done.
func (q *sendQueue) end() error {
	q.reg.open.Add(-1)
	q.mu.Lock()
	defer q.mu.Unlock()
	q.open--
	return q.flushLocked()
}

// add queues b for c; false means send it directly (not batching, or
// another socket).
func (q *sendQueue) add(c *unitConn, b []byte) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.open == 0 || (q.conn != nil && q.conn != c) || len(b) > batchMaxBytes {
		return false
	}
	if q.b != nil && (len(q.b.pkts) == batchMaxPackets || q.b.used+len(b) > batchMaxBytes) {
		_ = q.flushLocked() // a big keyframe: send this part now
	}
	if q.b == nil {
		q.b = batchBufs.Get().(*batchBuf)
	}
	q.conn = c
	p := q.b.data[q.b.used : q.b.used+len(b) : q.b.used+len(b)]
	copy(p, b)
	q.b.used += len(b)
	q.b.pkts = append(q.b.pkts, p)
	return true
}

func (q *sendQueue) flushLocked() error {
	b, c := q.b, q.conn
	q.b, q.conn = nil, nil
	if b == nil {
		return nil
	}
	err := c.sendBatch(b, q.addr)
	q.reg.batched.Add(uint64(len(b.pkts)))
	q.reg.messages.Add(uint64(len(b.msgs)))
	b.used, b.pkts, b.msgs = 0, b.pkts[:0], b.msgs[:0]
	batchBufs.Put(b)
	return err
}

// pairBatch follows a PeerConnection's selected candidate pair: when it is
// UDP, unit writes to the browser's address are batched (ICE-TCP writes
// never reach the UDP sockets).
type pairBatch struct {
	reg    *sendRegistry // nil: batching off
	q      atomic.Pointer[sendQueue]
	closed atomic.Bool
}

func (b *pairBatch) watch(pc *pwebrtc.PeerConnection) {
	if b.reg != nil {
		pc.SCTP().Transport().ICETransport().OnSelectedCandidatePairChange(b.onPair)
	}
}

func (b *pairBatch) onPair(p *pwebrtc.ICECandidatePair) {
	var q *sendQueue
	if p != nil && p.Local != nil && p.Remote != nil && p.Local.Protocol == pwebrtc.ICEProtocolUDP && !b.closed.Load() {
		if a, err := netip.ParseAddr(p.Remote.Address); err == nil {
			q = b.reg.register(netip.AddrPortFrom(a.Unmap(), p.Remote.Port))
		}
	}
	b.reg.unregister(b.q.Swap(q))
}

// close stops batching for good (the peer is gone).
func (b *pairBatch) close() {
	b.closed.Store(true)
	b.reg.unregister(b.q.Swap(nil))
}

// begin opens a batch for one unit of n packets when that helps; the
// caller ends it with finish (nil-safe).
func (b *pairBatch) begin(n int) *sendQueue {
	q := b.q.Load()
	if q == nil || n < 2 {
		return nil
	}
	q.begin()
	return q
}

// finish sends the batch q began. UDP: a failed send is lost packets, as
// with sendto, so the error is not the writer's.
func (q *sendQueue) finish() {
	if q != nil {
		_ = q.end()
	}
}

// unitNet opens the ICE mux's sockets as unitConns.
type unitNet struct {
	transport.Net
	reg *sendRegistry
	gso bool
	// mmsg batches even without GSO (one sendmmsg message per packet).
	// Off by default: it saved nothing over sendto (BenchmarkUnitWrite)
	// and costs a copy.
	mmsg bool
}

func (n *unitNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	raw, err := listenRawUDP(n.Net, network, laddr, "unit batching")
	if err != nil {
		return nil, err
	}
	u := &unitConn{UDPConn: raw, reg: n.reg, mmsg: n.mmsg}
	if laddr != nil && laddr.IP.To4() != nil {
		u.batch = ipv4.NewPacketConn(raw)
	} else {
		u.batch = ipv6.NewPacketConn(raw)
	}
	u.gso.Store(n.gso && gsoSupported(raw))
	return u, nil
}

type batchWriter interface {
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// unitConn is one ICE mux socket. It keeps the raw socket's
// allocation-free AddrPort reads and writes (ice's AddrPortReaderWriter).
type unitConn struct {
	*net.UDPConn
	reg   *sendRegistry
	batch batchWriter
	gso   atomic.Bool // off without kernel support or after an EIO
	mmsg  bool
	// last is the queue the previous batched write went to: a unit's
	// packets all go to one address, so most writes skip the map lookup.
	last atomic.Pointer[sendQueue]
}

func (c *unitConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	return c.ReadFromUDPAddrPort(b)
}

func (c *unitConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	if c.reg.open.Load() > 0 && (c.mmsg || c.gso.Load()) {
		if a := addr.Addr(); a.Is4In6() {
			addr = netip.AddrPortFrom(a.Unmap(), addr.Port())
		}
		if q := c.queue(addr); q != nil && q.add(c, b) {
			if c.last.Load() != q {
				c.last.Store(q) // only a queue that batches: a lone audio packet would evict it
			}
			return len(b), nil
		}
	}
	return c.WriteToUDPAddrPort(b, addr)
}

// queue finds the registered queue for addr, if any.
func (c *unitConn) queue(addr netip.AddrPort) *sendQueue {
	if q := c.last.Load(); q != nil && q.dst == addr && !q.gone.Load() {
		return q
	}
	if v, ok := c.reg.m.Load(addr); ok {
		return v.(*sendQueue)
	}
	return nil
}

func (c *unitConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if a, ok := addr.(*net.UDPAddr); ok {
		return c.WriteToAddrPort(b, a.AddrPort())
	}
	return c.UDPConn.WriteTo(b, addr)
}

// sendBatch writes b's packets to addr: runs of equal-sized packets (the
// last may be shorter) become one GSO message each, all in one sendmmsg.
func (c *unitConn) sendBatch(b *batchBuf, addr *net.UDPAddr) error {
	gso := c.gso.Load()
	ms := b.msgs[:0]
	for i := 0; i < len(b.pkts); {
		j := i + 1
		if gso {
			j = gsoRunEnd(b.pkts, i)
		}
		m := ipv4.Message{Buffers: b.pkts[i:j], Addr: addr}
		if j-i > 1 {
			m.OOB = gsoOOB(len(b.pkts[i]))
		}
		ms = append(ms, m)
		i = j
	}
	b.msgs = ms
	var errs []error
	for len(ms) > 0 {
		n, err := c.batch.WriteBatch(ms, 0)
		switch {
		case err == nil && n > 0:
			ms = ms[n:]
		case err == nil:
			return errors.Join(append(errs, errors.New("webrtc: sendmmsg sent nothing"))...)
		case gso && errors.Is(err, syscall.EIO):
			// No checksum offload on this route: the kernel refuses
			// GSO. Send one packet per message from now on.
			c.gso.Store(false)
			return errors.Join(append(errs, c.sendSingles(ms, addr))...)
		default:
			// sendmmsg fails only on its first message: drop that
			// one (as a failed sendto would) and go on.
			errs = append(errs, err)
			ms = ms[1:]
		}
	}
	return errors.Join(errs...)
}

// gsoRunEnd is the end of the GSO run starting at pkts[i]: packets of
// pkts[i]'s size, then at most one shorter packet (the kernel cuts a GSO
// message into equal segments, the last may be short).
func gsoRunEnd(pkts [][]byte, i int) int {
	size, j := len(pkts[i]), i+1
	for j < len(pkts) && len(pkts[j]) <= size {
		j++
		if len(pkts[j-1]) < size {
			break
		}
	}
	return j
}

func (c *unitConn) sendSingles(ms []ipv4.Message, addr *net.UDPAddr) error {
	var errs []error
	for _, m := range ms {
		for _, p := range m.Buffers {
			if _, err := c.WriteToUDP(p, addr); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
