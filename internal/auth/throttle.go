package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"pingan/internal/store"
)

// Login throttling: each username and each source address has a failure
// counter in the store (so every node sees it). The window opens at the
// first failure; LoginMaxFailures failures inside it lock further attempts,
// even with the right password, until it closes. The service's clock decides
// whether a window is still open; the record's TTL only collects garbage.

// counter is a stored failure count.
type counter struct {
	Count int       `json:"count"`
	Start time.Time `json:"start"`
}

// throttleSlack keeps a record a little past its window, so clock skew
// between the store and the hub never drops a counter early.
const throttleSlack = time.Minute

// throttleKeys returns the counter keys for a login attempt: the address
// always, the username only when it is well-formed (others cannot exist).
func throttleKeys(username, source string) []string {
	keys := make([]string, 0, 2)
	if ValidateUsername(username) == nil {
		keys = append(keys, keyThrottleUser+username)
	}
	if addr := sourceHost(source); addr != "" {
		keys = append(keys, keyThrottleAddr+addr)
	}
	return keys
}

// sourceHost strips the port of a "host:port" address.
func sourceHost(source string) string {
	if h, _, err := net.SplitHostPort(source); err == nil {
		return h
	}
	if len(source) > 64 {
		return source[:64]
	}
	return source
}

// readCounter returns the counter at key (zero when absent or its window
// has closed) and the record's version.
func (s *Service) readCounter(ctx context.Context, key string, now time.Time) (counter, uint64, error) {
	var c counter
	rec, err := s.st.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return c, 0, nil
	}
	if err != nil {
		return c, 0, fmt.Errorf("auth: read login counter: %w", err)
	}
	if json.Unmarshal(rec.Value, &c) != nil || now.Sub(c.Start) >= s.cfg.LoginWindow.D() || now.Before(c.Start) {
		c = counter{}
	}
	return c, rec.Version, nil
}

// checkThrottle returns a *ThrottledError when any key is locked.
func (s *Service) checkThrottle(ctx context.Context, keys []string) error {
	now := s.now()
	var wait time.Duration
	for _, k := range keys {
		c, _, err := s.readCounter(ctx, k, now)
		if err != nil {
			return err
		}
		if c.Count >= s.cfg.LoginMaxFailures {
			wait = max(wait, c.Start.Add(s.cfg.LoginWindow.D()).Sub(now))
		}
	}
	if wait > 0 {
		return &ThrottledError{RetryAfter: wait}
	}
	return nil
}

// recordFailure adds one failure to each key.
func (s *Service) recordFailure(ctx context.Context, keys []string) error {
	for _, k := range keys {
		if err := s.bump(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// bump increments one counter with compare-and-set.
func (s *Service) bump(ctx context.Context, key string) error {
	window := s.cfg.LoginWindow.D()
	for range conflictRetries {
		now := s.now()
		c, ver, err := s.readCounter(ctx, key, now)
		if err != nil {
			return err
		}
		if c.Count == 0 {
			c.Start = now.UTC()
		}
		c.Count++
		val, _ := json.Marshal(c)
		ttl := c.Start.Add(window).Sub(now) + throttleSlack
		_, err = s.st.Put(ctx, key, val, ver, ttl)
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("auth: count login failure: %w", err)
		}
	}
	return fmt.Errorf("auth: count login failure: %w", store.ErrConflict)
}

// resetUser clears a username's counter after a successful login. The
// address counter stays: one good account must not unlock guessing others.
func (s *Service) resetUser(ctx context.Context, username string) error {
	if err := s.st.Delete(ctx, keyThrottleUser+username, store.AnyVersion); err != nil {
		return fmt.Errorf("auth: reset login counter: %w", err)
	}
	return nil
}
