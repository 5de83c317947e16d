package gb28181

import (
	"regexp"
	"strings"
)

// authParam is the pattern gosip's sip.AuthFromValue reads an
// Authorization value with; that function compiles it on every call,
// which was a sixth of the REGISTER handler's CPU.
var authParam = regexp.MustCompile(`(\w+)=("[^"]+"|[^,\s]+)`)

// parseDigestCreds reads the credentials of an Authorization: Digest value
// exactly as sip.AuthFromValue does (the fuzz test holds them equal): the
// same parameters, quotes trimmed, algorithm MD5 when absent, qop "auth"
// when it lists auth or auth-int.
func parseDigestCreds(value string) digestCreds {
	c := digestCreds{Algorithm: "MD5"}
	for _, m := range authParam.FindAllStringSubmatch(value, -1) {
		v := m[2]
		if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		switch m[1] {
		case "realm":
			c.Realm = v
		case "algorithm":
			c.Algorithm = v
		case "nonce":
			c.Nonce = v
		case "username":
			c.Username = v
		case "uri":
			c.URI = v
		case "response":
			c.Response = v
		case "qop":
			for q := range strings.SplitSeq(v, ",") {
				if q = strings.Trim(q, " "); q == "auth" || q == "auth-int" {
					c.Qop = "auth"
					break
				}
			}
		case "nc":
			c.Nc = v
		case "cnonce":
			c.Cnonce = v
		}
	}
	return c
}
