package webrtc

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/udp"
)

// batchNet is the network the ICE UDP mux opens its sockets with when
// Config.BatchWrite is on: every socket's writes are queued and flushed with
// sendmmsg by pion's udp.BatchConn (Linux; elsewhere it writes one by one).
type batchNet struct {
	transport.Net
	size     int
	interval time.Duration
}

// ListenUDP opens the socket and wraps it.
func (n *batchNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	raw, err := listenRawUDP(n.Net, network, laddr, "batch write")
	if err != nil {
		return nil, err
	}
	return &batchConn{UDPConn: raw, batch: udp.NewBatchConn(raw, n.size, n.interval)}, nil
}

// listenRawUDP opens a socket with n, which must be the OS network: the
// batching wrappers need the *net.UDPConn underneath.
func listenRawUDP(n transport.Net, network string, laddr *net.UDPAddr, what string) (*net.UDPConn, error) {
	c, err := n.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	raw, ok := c.(*net.UDPConn)
	if !ok {
		_ = c.Close()
		return nil, fmt.Errorf("webrtc: %s needs a *net.UDPConn, got %T", what, c)
	}
	return raw, nil
}

// batchConn keeps the raw socket's allocation-free reads (ice's
// AddrPortReaderWriter) and sends every write through the batch queue.
// udp.BatchConn copies the packet into its own buffer, so callers may reuse theirs.
type batchConn struct {
	*net.UDPConn
	batch *udp.BatchConn
}

func (c *batchConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	return c.batch.WriteTo(b, addr)
}

func (c *batchConn) WriteToUDP(b []byte, addr *net.UDPAddr) (int, error) {
	return c.batch.WriteTo(b, addr)
}

// WriteToAddrPort is ice's allocation-free write path; the batch queue needs
// a net.Addr, so this one allocates.
func (c *batchConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return c.batch.WriteTo(b, net.UDPAddrFromAddrPort(addr))
}

func (c *batchConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	return c.ReadFromUDPAddrPort(b)
}

// Close flushes nothing further and closes the socket.
func (c *batchConn) Close() error { return c.batch.Close() }
