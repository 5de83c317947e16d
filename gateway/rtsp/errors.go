package rtsp

import "errors"

// Sentinel errors.
var (
	// ErrForbidden is what an Authorizer wraps when the credentials are
	// valid but the user may not read or publish that stream (role or region
	// scope). The server answers 403; any other Authorizer error is a 401.
	ErrForbidden = errors.New("rtsp: forbidden")
	// ErrNoCredentials means the request carried no Basic credentials.
	ErrNoCredentials = errors.New("rtsp: no credentials")
	// ErrBadAuthHeader means the Authorization header is not valid Basic.
	ErrBadAuthHeader = errors.New("rtsp: malformed Authorization header")
	// ErrUnsupportedCodec means a hub track has no RTSP mapping.
	ErrUnsupportedCodec = errors.New("rtsp: unsupported codec")
	// ErrNoMedia means a camera or publisher offered no supported media.
	ErrNoMedia = errors.New("rtsp: no supported media")
)
