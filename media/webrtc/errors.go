package webrtc

import "errors"

// Sentinel errors.
var (
	// ErrBadOffer: the SDP offer is malformed or pion refused it.
	ErrBadOffer = errors.New("webrtc: bad sdp offer")
	// ErrNoTracks: none of the stream's tracks can go to this browser
	// (codecs it does not offer, or no matching m= section); the error
	// text lists why each track was skipped.
	ErrNoTracks = errors.New("webrtc: no track the browser can receive")
	// ErrClosed: the engine is closed.
	ErrClosed = errors.New("webrtc: engine closed")
)
