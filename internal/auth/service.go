package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"pingan/configs"
	"pingan/internal/store"
)

// Store keys and logs used by the service. Every node shares them, so a
// token issued by one node is accepted by all.
const (
	keySecret       = "auth/secret"         // record: 32 random bytes, hex; the token signing key
	keyUserPrefix   = "auth/user/"          // record per user: JSON userRecord
	keyRevokedPref  = "auth/revoked/"       // record per revoked token id, TTL until the token expires
	keyAPIKeyPrefix = "auth/apikey/"        // record per API key: JSON apiKeyRecord
	keyThrottleUser = "auth/throttle/user/" // record per username: JSON failure counter, TTL
	keyThrottleAddr = "auth/throttle/addr/" // record per source address: JSON failure counter, TTL
	logAudit        = "audit"               // log: JSON Entry per security-relevant action
	defaultCost     = 10                    // bcrypt cost
	storeTimeout    = 10 * time.Second      // bound for the store calls New makes
	maxTokenLen     = 4096                  // longer bearer strings are refused unread
	conflictRetries = 5                     // compare-and-set attempts before giving up
)

// Service manages users, tokens, API keys, login throttling and the audit
// log on top of a store.Store. It is safe for concurrent use.
type Service struct {
	st     store.Store
	cfg    configs.AuthConfig
	log    *slog.Logger
	now    func() time.Time
	cost   int
	secret []byte

	dummyOnce sync.Once
	dummyHash []byte
}

// Option changes a Service's defaults.
type Option func(*Service)

// WithClock replaces time.Now (tests move time forward instead of sleeping).
func WithClock(now func() time.Time) Option {
	return func(s *Service) { s.now = now }
}

// WithBcryptCost sets the bcrypt cost (default 10; tests lower it to
// bcrypt.MinCost to run fast).
func WithBcryptCost(cost int) Option {
	return func(s *Service) { s.cost = cost }
}

// New builds the service. It loads the token signing secret from the store,
// creating it on the very first start; every node and every restart then
// shares it.
func New(st store.Store, cfg configs.AuthConfig, log *slog.Logger, opts ...Option) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{st: st, cfg: cfg, log: log, now: time.Now, cost: defaultCost}
	for _, o := range opts {
		o(s)
	}
	if s.cost < bcrypt.MinCost || s.cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("auth: bcrypt cost %d out of range", s.cost)
	}
	if s.cfg.TokenTTL.D() <= 0 {
		s.cfg.TokenTTL = configs.Duration(12 * time.Hour)
	}
	if s.cfg.LoginMaxFailures <= 0 {
		s.cfg.LoginMaxFailures = 5
	}
	if s.cfg.LoginWindow.D() <= 0 {
		s.cfg.LoginWindow = configs.Duration(15 * time.Minute)
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	secret, err := loadSecret(ctx, st)
	if err != nil {
		return nil, err
	}
	s.secret = secret
	return s, nil
}

// loadSecret reads the signing secret, creating it if absent. When two nodes
// start at once, the loser of the compare-and-set reads the winner's.
func loadSecret(ctx context.Context, st store.Store) ([]byte, error) {
	for range conflictRetries {
		rec, err := st.Get(ctx, keySecret)
		if err == nil {
			b, derr := hex.DecodeString(string(rec.Value))
			if derr != nil || len(b) < 32 {
				return nil, fmt.Errorf("auth: stored secret %s is corrupt", keySecret)
			}
			return b, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("auth: load secret: %w", err)
		}
		b := randomBytes(32)
		_, err = st.Put(ctx, keySecret, []byte(hex.EncodeToString(b)), 0, 0)
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return nil, fmt.Errorf("auth: create secret: %w", err)
		}
	}
	return nil, fmt.Errorf("auth: create secret: %w", store.ErrConflict)
}

// randomBytes returns n bytes from crypto/rand (which never fails on
// supported platforms).
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// randomID returns n random bytes in hex.
func randomID(n int) string { return hex.EncodeToString(randomBytes(n)) }

// hash returns the bcrypt hash of password.
func (s *Service) hash(password string) ([]byte, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return nil, fmt.Errorf("auth: hash password: %w", err)
	}
	return h, nil
}

// dummy is a hash compared against when the user does not exist, so an
// unknown username costs as much time as a wrong password.
func (s *Service) dummy() []byte {
	s.dummyOnce.Do(func() {
		s.dummyHash, _ = bcrypt.GenerateFromPassword([]byte(randomID(16)), s.cost)
	})
	return s.dummyHash
}

type sourceKey struct{}

// WithSource records the caller's network address in ctx, for the audit log
// entries written by the management methods.
func WithSource(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, sourceKey{}, addr)
}

func sourceFrom(ctx context.Context) string {
	s, _ := ctx.Value(sourceKey{}).(string)
	return s
}
