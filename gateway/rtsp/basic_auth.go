package rtsp

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// basicRealm is the realm announced in WWW-Authenticate.
const basicRealm = "pingan"

// wwwAuthenticate is the challenge sent with a 401. Only Basic is offered:
// Digest needs the plaintext password on the server, and the user store
// keeps bcrypt hashes. Basic sends the password in clear text (base64), so
// RTSP belongs on the intranet or a VPN (RTSPS via TLSConfig is possible later).
var wwwAuthenticate = `Basic realm="` + basicRealm + `"`

// maxAuthHeader bounds the header we decode (a login token as the password
// is a few hundred bytes at most).
const maxAuthHeader = 4096

// parseBasicAuth reads the credentials from the values of an RTSP
// Authorization header (RFC 7617 §2). It returns ErrNoCredentials when
// there is no header or the scheme is not Basic, and ErrBadAuthHeader when a
// Basic header is malformed. The user name may not contain ':'; the password
// may.
func parseBasicAuth(values []string) (user, pass string, err error) {
	if len(values) == 0 {
		return "", "", ErrNoCredentials
	}
	if len(values) > 1 {
		return "", "", fmt.Errorf("%w: %d headers", ErrBadAuthHeader, len(values))
	}
	v := strings.TrimSpace(values[0])
	if len(v) > maxAuthHeader {
		return "", "", fmt.Errorf("%w: too long", ErrBadAuthHeader)
	}
	scheme, token, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return "", "", ErrNoCredentials
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(token))
	if err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrBadAuthHeader, err)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || user == "" {
		return "", "", fmt.Errorf("%w: want user:password", ErrBadAuthHeader)
	}
	return user, pass, nil
}

// basicAuthValue encodes credentials the way a client sends them.
func basicAuthValue(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}
