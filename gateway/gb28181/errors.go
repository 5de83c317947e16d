package gb28181

import "errors"

// Sentinel errors. Wrapped errors keep them for errors.Is.
var (
	// ErrBadID: an id is not 20 digits.
	ErrBadID = errors.New("gb28181: bad id")
	// ErrDeviceNotFound: no such device in the registry.
	ErrDeviceNotFound = errors.New("gb28181: device not found")
	// ErrChannelNotFound: no such channel in the registry.
	ErrChannelNotFound = errors.New("gb28181: channel not found")
	// ErrOffline: the device is offline, so nothing can be sent to it.
	ErrOffline = errors.New("gb28181: device offline")
	// ErrTimeout: the device did not answer a query in time.
	ErrTimeout = errors.New("gb28181: device did not answer in time")
	// ErrNotRunning: the SIP server is not running (Run not called or returned).
	ErrNotRunning = errors.New("gb28181: SIP server not running")
	// ErrInvalid: a bad argument (transport, PTZ action, preset index …).
	ErrInvalid = errors.New("gb28181: invalid argument")
)
