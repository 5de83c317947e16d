package rtsp

import (
	"errors"
	"strings"
	"testing"
)

// basicAuthCases drive the table test and seed the fuzzer.
var basicAuthCases = []struct {
	name       string
	header     string
	user, pass string
	err        error
}{
	{"ok", "Basic b3A6c2VjcmV0", "op", "secret", nil},
	{"colon in password", basicAuthValue("op", "a:b:c"), "op", "a:b:c", nil},
	{"empty password", basicAuthValue("op", ""), "op", "", nil},
	{"utf-8", basicAuthValue("调度员", "口令"), "调度员", "口令", nil},
	{"scheme case", "basic b3A6c2VjcmV0", "op", "secret", nil},
	{"extra spaces", "  Basic   b3A6c2VjcmV0  ", "op", "secret", nil},
	{"digest", `Digest username="op", realm="pingan"`, "", "", ErrNoCredentials},
	{"bearer", "Bearer abc", "", "", ErrNoCredentials},
	{"empty", "", "", "", ErrNoCredentials},
	{"bad base64", "Basic !!!", "", "", ErrBadAuthHeader},
	{"no colon", "Basic b3A=", "", "", ErrBadAuthHeader},
	{"empty user", basicAuthValue("", "x"), "", "", ErrBadAuthHeader},
	{"too long", "Basic " + strings.Repeat("A", maxAuthHeader), "", "", ErrBadAuthHeader},
}

func TestParseBasicAuth(t *testing.T) {
	for _, tc := range basicAuthCases {
		t.Run(tc.name, func(t *testing.T) {
			user, pass, err := parseBasicAuth([]string{tc.header})
			if !errors.Is(err, tc.err) || user != tc.user || pass != tc.pass {
				t.Fatalf("got %q, %q, %v; want %q, %q, %v", user, pass, err, tc.user, tc.pass, tc.err)
			}
		})
	}
	if _, _, err := parseBasicAuth(nil); !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("no header: %v", err)
	}
	if _, _, err := parseBasicAuth([]string{"Basic b3A6c2VjcmV0", "Basic b3A6c2VjcmV0"}); !errors.Is(err, ErrBadAuthHeader) {
		t.Fatalf("two headers: %v", err)
	}
}

// FuzzParseBasicAuth checks that the parser never panics and that whatever
// it accepts encodes back to credentials it parses the same way.
func FuzzParseBasicAuth(f *testing.F) {
	for _, tc := range basicAuthCases {
		f.Add(tc.header)
	}
	f.Fuzz(func(t *testing.T, header string) {
		user, pass, err := parseBasicAuth([]string{header})
		if err != nil {
			if !errors.Is(err, ErrNoCredentials) && !errors.Is(err, ErrBadAuthHeader) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if user == "" || strings.Contains(user, ":") {
			t.Fatalf("accepted user %q", user)
		}
		u2, p2, err := parseBasicAuth([]string{basicAuthValue(user, pass)})
		if err != nil || u2 != user || p2 != pass {
			t.Fatalf("round trip of %q:%q gave %q:%q, %v", user, pass, u2, p2, err)
		}
	})
}
