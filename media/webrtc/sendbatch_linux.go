package webrtc

import (
	"encoding/binary"
	"net"
	"sync"
	"syscall"
	"unsafe"
)

const (
	solUDP     = 17  // SOL_UDP
	udpSegment = 103 // UDP_SEGMENT (linux/udp.h)
)

// gsoOOBs holds the UDP_SEGMENT control message for each segment size,
// built on first use and read-only afterwards.
var gsoOOBs sync.Map // int → []byte

// gsoOOB is the control message that makes one sendmsg carry segments of
// size bytes each (the last may be shorter).
func gsoOOB(size int) []byte {
	if b, ok := gsoOOBs.Load(size); ok {
		return b.([]byte)
	}
	b := make([]byte, syscall.CmsgSpace(2))
	h := (*syscall.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level = solUDP
	h.Type = udpSegment
	h.SetLen(syscall.CmsgLen(2))
	binary.NativeEndian.PutUint16(b[syscall.CmsgLen(0):], uint16(size))
	v, _ := gsoOOBs.LoadOrStore(size, b)
	return v.([]byte)
}

// gsoSupported asks the kernel whether the socket knows UDP_SEGMENT.
func gsoSupported(c *net.UDPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		_, serr = syscall.GetsockoptInt(int(fd), solUDP, udpSegment)
	}); err != nil {
		return false
	}
	return serr == nil
}
