package rtpin

import "errors"

// Errors returned by this package.
var (
	// ErrMediaTimeout ends Run when no accepted RTP packet arrived for Config.Timeout
	// (gb28181.md §11: "no RTP within ~10–15 s after ACK → BYE and fail").
	ErrMediaTimeout = errors.New("rtpin: no media within the timeout")
	// ErrNoPorts means every port of the range is in use or not bindable.
	ErrNoPorts = errors.New("rtpin: no free RTP port in the range")
	// ErrBadRange is a port range that is not "lo-hi" with 0 < lo <= hi < 65536.
	ErrBadRange = errors.New("rtpin: bad port range")
	// ErrNoRemote means TCP active mode has no device address to dial.
	ErrNoRemote = errors.New("rtpin: TCP active needs the device's media address")
	// ErrClosed is returned by Run on a Receiver that was closed before Run.
	ErrClosed = errors.New("rtpin: receiver closed")
)
