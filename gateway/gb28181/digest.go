package gb28181

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"
)

// digestAuth issues and checks HTTP digest (RFC 2617, MD5 only) for
// REGISTER (GB/T 28181 §3 of the digest; RFC 3261 §22). Nonces are random,
// expire after ttl and are good for one REGISTER. Failed digests are counted
// per source IP; past the limit the IP is refused until its window passes.
type digestAuth struct {
	realm  string
	qop    bool
	ttl    time.Duration
	limit  int
	window time.Duration

	mu     sync.Mutex
	nonces map[string]time.Time // nonce → expiry
	fails  map[string]failCount // source IP → failures
}

type failCount struct {
	n     int
	since time.Time
}

// maxNonces bounds memory when something floods us with unauthenticated REGISTERs.
const maxNonces = 200_000

func newDigestAuth(realm string, qop bool, ttl time.Duration, limit int, window time.Duration) *digestAuth {
	return &digestAuth{
		realm: realm, qop: qop, ttl: ttl, limit: limit, window: window,
		nonces: make(map[string]time.Time),
		fails:  make(map[string]failCount),
	}
}

// challenge issues a nonce and returns the WWW-Authenticate value.
func (a *digestAuth) challenge(now time.Time, stale bool) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	nonce := hex.EncodeToString(b[:])
	a.mu.Lock()
	if len(a.nonces) >= maxNonces {
		a.expireLocked(now)
		if len(a.nonces) >= maxNonces {
			clear(a.nonces) // under attack: old challenges must be redone
		}
	}
	a.nonces[nonce] = now.Add(a.ttl)
	a.mu.Unlock()
	v := fmt.Sprintf(`Digest realm="%s",nonce="%s",algorithm=MD5`, a.realm, nonce)
	if a.qop {
		v += `,qop="auth"`
	}
	if stale {
		v += `,stale=true`
	}
	return v
}

// consume reports whether nonce was issued by us and is unexpired, and
// forgets it (single use).
func (a *digestAuth) consume(nonce string, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	exp, ok := a.nonces[nonce]
	if !ok {
		return false
	}
	delete(a.nonces, nonce)
	return now.Before(exp)
}

// throttled reports whether ip has failed too often within the window, and
// how long until it may try again.
func (a *digestAuth) throttled(ip string, now time.Time) (bool, time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f, ok := a.fails[ip]
	if !ok {
		return false, 0
	}
	if now.Sub(f.since) >= a.window {
		delete(a.fails, ip)
		return false, 0
	}
	return f.n >= a.limit, f.since.Add(a.window).Sub(now)
}

// fail records a failed digest from ip.
func (a *digestAuth) fail(ip string, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.fails[ip]
	if f.n == 0 || now.Sub(f.since) >= a.window {
		f = failCount{since: now}
	}
	f.n++
	a.fails[ip] = f
}

// expire drops expired nonces and failure windows (called by the sweep).
func (a *digestAuth) expire(now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.expireLocked(now)
	for ip, f := range a.fails {
		if now.Sub(f.since) >= a.window {
			delete(a.fails, ip)
		}
	}
}

func (a *digestAuth) expireLocked(now time.Time) {
	for n, exp := range a.nonces {
		if !now.Before(exp) {
			delete(a.nonces, n)
		}
	}
}

// digestCreds are the fields of an Authorization: Digest header we use.
type digestCreds struct {
	Username, Realm, Nonce, URI, Response, Algorithm, Qop, Nc, Cnonce string
}

// checkDigest reports whether c's response is right for password and
// method, comparing in constant time. The uri is the one in the header,
// not the request line (§3). Only MD5 is accepted.
func checkDigest(c digestCreds, password, method string) bool {
	if c.Algorithm != "" && !strings.EqualFold(c.Algorithm, "MD5") {
		return false
	}
	want := digestResponse(c, password, method)
	got := strings.ToLower(c.Response)
	return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// digestResponse computes the RFC 2617 response:
// MD5(HA1:nonce:HA2), or MD5(HA1:nonce:nc:cnonce:qop:HA2) with qop.
func digestResponse(c digestCreds, password, method string) string {
	ha1 := md5hex(c.Username + ":" + c.Realm + ":" + password)
	ha2 := md5hex(method + ":" + c.URI)
	if c.Qop != "" {
		return md5hex(ha1 + ":" + c.Nonce + ":" + c.Nc + ":" + c.Cnonce + ":" + c.Qop + ":" + ha2)
	}
	return md5hex(ha1 + ":" + c.Nonce + ":" + ha2)
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
