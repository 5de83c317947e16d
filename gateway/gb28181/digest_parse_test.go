package gb28181

import (
	"testing"

	"github.com/ghettovoice/gosip/sip"
)

// FuzzParseDigestCreds holds parseDigestCreds to sip.AuthFromValue, which
// it replaces on the REGISTER path, for any Authorization value.
func FuzzParseDigestCreds(f *testing.F) {
	for _, s := range []string{
		`Digest username="34020000001320000001",realm="3402000000",nonce="0a1b",uri="sip:34020000002000000001@3402000000",response="9f",algorithm=MD5`,
		`Digest username="u", realm="r", nonce="n", uri="sip:a@b", response="x", qop=auth, nc=00000001, cnonce="c"`,
		`Digest qop="auth-int,auth", algorithm="MD5", opaque="o"`,
		`digest username=,realm="",nonce="a"b",uri=sip:x@y response=1`,
		`Basic dXNlcjpwYXNz`,
		`Digest qop=" auth ,token"`,
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		a := sip.AuthFromValue(v)
		want := digestCreds{
			Username: a.Username(), Realm: a.Realm(), Nonce: a.Nonce(), URI: a.Uri(), Response: a.Response(),
			Algorithm: a.Algorithm(), Qop: a.Qop(), Nc: a.Nc(), Cnonce: a.CNonce(),
		}
		if got := parseDigestCreds(v); got != want {
			t.Fatalf("%q:\n got %+v\nwant %+v", v, got, want)
		}
	})
}

func BenchmarkParseDigestCreds(b *testing.B) {
	v := `Digest username="34020000001320000001",realm="3402000000",nonce="7d1c0fb6e3a54cfc8a3f4ad2b6a1e0c9",uri="sip:34020000002000000001@3402000000",response="0cc175b9c0f1b6a831c399e269772661",algorithm=MD5`
	b.Run("gosip", func(b *testing.B) {
		for b.Loop() {
			_ = sip.AuthFromValue(v)
		}
	})
	b.Run("precompiled", func(b *testing.B) {
		for b.Loop() {
			_ = parseDigestCreds(v)
		}
	})
}
