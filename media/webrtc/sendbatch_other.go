//go:build !linux

package webrtc

import "net"

// Without Linux there is no UDP GSO; sendmmsg batches (x/net) fall back to
// one write per packet.
func gsoOOB(int) []byte { return nil }

func gsoSupported(*net.UDPConn) bool { return false }
