package rtpin

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// runUDP reads datagrams until the media times out or the socket closes.
func (r *Receiver) runUDP() error {
	buf := make([]byte, 65536)
	ro := newReorder(r.cfg.ReorderWindow, r.cfg.ReorderDelay)
	last := time.Now()
	for {
		deadline := last.Add(r.cfg.Timeout)
		if d := ro.deadline(); !d.IsZero() && d.Before(deadline) {
			deadline = d
		}
		if err := r.pc.SetReadDeadline(deadline); err != nil {
			return err
		}
		n, src, err := r.pc.ReadFromUDPAddrPort(buf)
		now := time.Now()
		if err != nil {
			if !isTimeout(err) {
				return fmt.Errorf("rtpin: read: %w", err)
			}
			ro.expire(now, r.in.emit)
			r.stats.lost.Store(ro.lost)
			if now.Sub(last) >= r.cfg.Timeout {
				return r.timeout()
			}
			continue
		}
		if !r.allowed(src.Addr()) {
			r.stats.foreign.Add(1)
			continue
		}
		if r.in.packet(buf[:n], src, now, ro) {
			last = now
		}
		r.stats.lost.Store(ro.lost)
		r.stats.late.Store(ro.late)
	}
}

// runTCP gets a connection with connect and reads it; when the device
// closes it, it waits for (or dials) the next one until the media times out.
func (r *Receiver) runTCP(connect func(deadline time.Time) (net.Conn, error)) error {
	last := time.Now()
	for {
		conn, err := connect(last.Add(r.cfg.Timeout))
		if err != nil {
			if isTimeout(err) || errors.Is(err, ErrMediaTimeout) {
				return r.timeout()
			}
			return fmt.Errorf("rtpin: connect: %w", err)
		}
		r.mu.Lock()
		stopped := r.isStopped()
		if !stopped {
			r.conn = conn
		}
		r.mu.Unlock()
		if stopped {
			conn.Close()
			return nil
		}
		err = r.readTCP(conn, &last)
		conn.Close()
		r.mu.Lock()
		r.conn = nil
		r.mu.Unlock()
		if errors.Is(err, ErrMediaTimeout) || r.isStopped() {
			return err
		}
		r.log.Info("media connection ended; waiting for another", "remote", conn.RemoteAddr().String(), "err", err)
		r.in.restart()
	}
}

func (r *Receiver) readTCP(conn net.Conn, last *time.Time) error {
	src, _ := netip.ParseAddrPort(conn.RemoteAddr().String())
	f := newFramer(conn)
	ro := newReorder(1, 0) // TCP keeps order; a jump in sequence is a loss at the device
	for {
		if err := conn.SetReadDeadline(last.Add(r.cfg.Timeout)); err != nil {
			return err
		}
		b, err := f.next()
		r.stats.garbage.Store(uint64(f.garbage))
		if err != nil {
			if isTimeout(err) {
				return r.timeout()
			}
			return err
		}
		now := time.Now()
		if r.in.packet(b, src, now, ro) {
			*last = now
		}
		r.stats.lost.Store(ro.lost)
		r.stats.late.Store(ro.late)
	}
}

// accept waits for the device's connection (TCP passive), refusing
// connections from other IPs when AllowIP is set.
func (r *Receiver) accept(deadline time.Time) (net.Conn, error) {
	for {
		if err := r.ln.SetDeadline(deadline); err != nil {
			return nil, err
		}
		c, err := r.ln.AcceptTCP()
		if err != nil {
			return nil, err
		}
		ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
		if !r.allowed(ap.Addr()) {
			r.log.Warn("media connection from an unexpected address refused", "remote", ap.String(), "allowed", r.cfg.AllowIP)
			r.stats.foreign.Add(1)
			c.Close()
			continue
		}
		r.log.Info("media connection accepted", "remote", ap.String())
		return c, nil
	}
}

// dial connects to the device (TCP active), retrying every second until
// the deadline (GB/T 28181-2022 asks TCP clients to retry).
func (r *Receiver) dial(remote string, deadline time.Time) (net.Conn, error) {
	d := net.Dialer{Deadline: deadline}
	if r.cfg.IP != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(r.cfg.IP)}
	}
	for {
		c, err := d.Dial("tcp", remote)
		if err == nil {
			r.log.Info("media connection dialled", "remote", remote)
			return c, nil
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return nil, ErrMediaTimeout
		}
		r.log.Debug("media dial failed; retrying", "remote", remote, "err", err)
		select {
		case <-r.stop:
			return nil, ErrClosed
		case <-time.After(min(time.Second, wait)):
		}
	}
}

func (r *Receiver) timeout() error {
	return fmt.Errorf("%w (%s, port %d, expected SSRC %s, packets %d)",
		ErrMediaTimeout, r.cfg.Timeout, r.port, ssrcString(r.in.expected), r.stats.packets.Load())
}
