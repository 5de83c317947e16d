package auth_test

import (
	"context"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"pingan/configs"
	"pingan/internal/auth"
	"pingan/internal/store"
	boltstore "pingan/internal/store/bolt"
	redisstore "pingan/internal/store/redis"
	"pingan/internal/testutil"
)

// fakeClock is a settable clock shared with the service.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func testConfig() configs.AuthConfig {
	return configs.AuthConfig{
		TokenTTL:         configs.Duration(time.Hour),
		LoginMaxFailures: 3,
		LoginWindow:      configs.Duration(10 * time.Minute),
	}
}

// env is one service on one backend, with a fake clock.
type env struct {
	st    store.Store
	svc   *auth.Service
	clock *fakeClock
	ctx   context.Context
}

// root is the unscoped bootstrap admin acting in tests.
var root = auth.Principal{Username: "admin", Role: auth.RoleAdmin}

func newService(t *testing.T, st store.Store, clock *fakeClock) *auth.Service {
	t.Helper()
	svc, err := auth.New(st, testConfig(), nil, auth.WithClock(clock.Now), auth.WithBcryptCost(bcrypt.MinCost))
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// eachBackend runs fn against a fresh bbolt file and, when PINGAN_TEST_REDIS
// is set, against Redis (under a unique key prefix in DB 2).
func eachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	t.Run("bolt", func(t *testing.T) {
		fn(t, newEnv(t, openBolt(t, filepath.Join(t.TempDir(), "pingan.db"))))
	})
	t.Run("redis", func(t *testing.T) {
		fn(t, newEnv(t, openRedis(t)))
	})
}

func newEnv(t *testing.T, st store.Store) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	clock := newClock()
	return &env{st: st, svc: newService(t, st, clock), clock: clock, ctx: ctx}
}

func openBolt(t *testing.T, path string) store.Store {
	t.Helper()
	st, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// openBoltNoCleanup opens a bbolt file the test closes itself (restarts).
func openBoltNoCleanup(path string) (store.Store, error) { return boltstore.Open(path) }

func openRedis(t *testing.T) store.Store {
	t.Helper()
	raw := testutil.RedisURL(t)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("PINGAN_TEST_REDIS: %v", err)
	}
	u.Path = "/2"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := redisstore.Open(ctx, u.String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return newPrefixStore(t, st)
}

// mustUser creates a user as root.
func (e *env) mustUser(t *testing.T, name, pw string, role auth.Role, region string) auth.User {
	t.Helper()
	u, err := e.svc.CreateUser(e.ctx, root, auth.NewUser{Username: name, Password: pw, Role: role, Region: region})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return u
}

// mustLogin logs in and returns the token.
func (e *env) mustLogin(t *testing.T, name, pw string) string {
	t.Helper()
	tok, _, err := e.svc.Login(e.ctx, name, pw, "192.0.2.1:5000")
	if err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	return tok
}

// mustAuth authenticates and fails the test on error.
func (e *env) mustAuth(t *testing.T, tok string) auth.Principal {
	t.Helper()
	p, err := e.svc.Authenticate(e.ctx, tok)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return p
}
