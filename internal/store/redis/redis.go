// Package redis is the shared backend of internal/store (go-redis v9), the
// one several hub nodes need. Multi-key atomicity comes from Lua scripts
// (scripts.go); each call has a deadline and, when Redis cannot be reached,
// fails within about that deadline with an error wrapping
// store.ErrUnavailable. The client reconnects by itself when Redis returns,
// and so do subscriptions. Durability settings for Redis: README.md.
//
// It imports only internal/store and go-redis.
package redis

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"pingan/internal/store"
)

// Redis keys. Every key is keyRoot + namespace + one of the parts below,
// where namespace is "" in production and "<ns>:" when Options.Namespace is
// set (tests). Names and keys from callers are appended unescaped: the parts
// differ in their fixed prefix, so they cannot collide.
const (
	keyRoot = "pingan:" // every key and channel of ours starts with this

	keyRecord    = "rec:"    // + record key → hash {v: value, ver: version}; PEXPIRE when it has a TTL
	keyRecordSet = "keys"    // sorted set, all scores 0: every record key, for Scan by ZRANGEBYLEX; Scan prunes expired ones
	keyIndex     = "idx:"    // + index name → sorted set member → score
	keyLog       = "log:"    // + log name → stream, entry ID "<offset>-0", one field "v"
	keyLogSeq    = "logseq:" // + log name → string integer: the last offset given (survives trimming)
	keySeq       = "seq:"    // + sequence name → string integer: its current value
	keyTopic     = "topic:"  // + topic → pub/sub channel name (not a key)
)

// Defaults.
const (
	defaultTimeout  = 2 * time.Second
	subscriberQueue = 64              // buffer of each Subscribe channel; full = drop
	pubsubHealth    = 3 * time.Second // idle subscriptions ping this often
)

var namespaceRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// Options configures New.
type Options struct {
	URL string // redis://[user:pass@]host:port/db or rediss://…
	// Timeout bounds each call, dialing included; zero means 2 s.
	Timeout time.Duration
	// Namespace, when set, puts every key under "pingan:<Namespace>:" so
	// that tests and parallel runs on one Redis do not collide. Letters,
	// digits, '_', '.', '-'. Zero means no namespace (production).
	Namespace string
}

// Store is the Redis backend of store.Store. It is safe for concurrent use.
type Store struct {
	rdb     *goredis.Client
	timeout time.Duration
	base    string // keyRoot + namespace
	// chanBase prefixes pub/sub channels: keyRoot + "db<N>:" + namespace.
	// Redis pub/sub ignores the database number, so two hubs on one Redis
	// with different DBs would otherwise wake each other with offsets
	// that mean nothing in their own logs.
	chanBase string

	mu        sync.Mutex // orders wg.Add in Subscribe against Close
	closed    atomic.Bool
	closeOnce sync.Once
	done      chan struct{}  // closed by Close: ends subscriptions
	wg        sync.WaitGroup // subscription forwarders
	dropped   atomic.Uint64
}

var _ store.Store = (*Store)(nil)

// Open connects to url and checks that Redis answers within timeout
// (zero means 2 s). The error wraps store.ErrUnavailable when it does not.
func Open(ctx context.Context, url string, timeout time.Duration) (*Store, error) {
	s, err := New(Options{URL: url, Timeout: timeout})
	if err != nil {
		return nil, err
	}
	if err := s.Ping(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("redis open: %w", err)
	}
	return s, nil
}

// New builds a Store without contacting Redis: calls made while Redis is
// down fail with store.ErrUnavailable and succeed again once it is back.
func New(o Options) (*Store, error) {
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.Namespace != "" && !namespaceRE.MatchString(o.Namespace) {
		return nil, fmt.Errorf("redis: namespace %q: use letters, digits, '_', '.', '-'", o.Namespace)
	}
	opt, err := goredis.ParseURL(o.URL)
	if err != nil {
		return nil, fmt.Errorf("redis: url: %w", err)
	}
	// Fail fast: one dial attempt, no command retries (a retried script
	// could apply twice), socket I/O bounded by the call's deadline.
	opt.DialTimeout = o.Timeout
	opt.DialerRetries = 1
	opt.MaxRetries = -1
	opt.ReadTimeout = o.Timeout
	opt.WriteTimeout = o.Timeout
	opt.PoolTimeout = o.Timeout
	opt.ContextTimeoutEnabled = true
	opt.DisableIdentity = true // CLIENT SETINFO needs Redis 7.2
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	s := &Store{
		rdb:     goredis.NewClient(opt),
		timeout: o.Timeout,
		base:    keyRoot,
		done:    make(chan struct{}),
	}
	if o.Namespace != "" {
		s.base = keyRoot + o.Namespace + ":"
	}
	s.chanBase = fmt.Sprintf("%sdb%d:%s", keyRoot, opt.DB, s.base[len(keyRoot):])
	return s, nil
}

func (s *Store) key(part, name string) string { return s.base + part + name }

// channel is the pub/sub channel name of topic.
func (s *Store) channel(topic string) string { return s.chanBase + keyTopic + topic }

// Close ends subscriptions and closes the connections. Calls after Close
// return store.ErrClosed.
func (s *Store) Close() error {
	err := store.ErrClosed
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed.Store(true)
		close(s.done)
		s.mu.Unlock()
		s.wg.Wait()
		err = s.rdb.Close()
		if err != nil {
			err = fmt.Errorf("redis close: %w", err)
		}
	})
	return err
}

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	cctx, cancel, err := s.call(ctx, "ping")
	if err != nil {
		return err
	}
	defer cancel()
	return s.fail(ctx, "ping", s.rdb.Ping(cctx).Err())
}

// Dropped reports how many messages slow subscribers have lost so far.
func (s *Store) Dropped() uint64 { return s.dropped.Load() }

// call checks the store is open and returns ctx bounded by the call timeout.
func (s *Store) call(ctx context.Context, op string) (context.Context, context.CancelFunc, error) {
	if s.closed.Load() {
		return nil, nil, fmt.Errorf("redis %s: %w", op, store.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("redis %s: %w", op, err)
	}
	callCtx, cancel := context.WithTimeout(ctx, s.timeout)
	return callCtx, cancel, nil
}

// fail turns a go-redis error into ours: store.ErrClosed after Close, the
// caller's ctx error when the caller's ctx (not our call deadline) ended, a plain wrapped error for a
// server reply that retrying will not fix, and store.ErrUnavailable for the
// rest (no connection, timeouts, a loading or read-only server).
func (s *Store) fail(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if s.closed.Load() && (errors.Is(err, goredis.ErrClosed) || strings.Contains(err.Error(), "client is closed")) {
		return fmt.Errorf("redis %s: %w", op, store.ErrClosed)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("redis %s: %w", op, ctx.Err())
	}
	var rerr goredis.Error
	if errors.As(err, &rerr) && !transient(err) {
		return fmt.Errorf("redis %s: %w", op, err)
	}
	return fmt.Errorf("redis %s: %w: %w", op, store.ErrUnavailable, err)
}

// transient reports server replies that mean "not now": the server is
// loading, read-only, busy, or cannot persist.
func transient(err error) bool {
	for _, p := range []string{"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY", "MISCONF", "NOREPLICAS"} {
		if goredis.HasErrorPrefix(err, p) {
			return true
		}
	}
	return false
}

// DropNamespace deletes every key of this store's namespace, for tests. It
// refuses to run without a namespace, and touches no other key.
func (s *Store) DropNamespace(ctx context.Context) error {
	if s.base == keyRoot {
		return errors.New("redis drop namespace: refusing without a namespace")
	}
	// Not bounded by the call timeout: a namespace may hold many keys.
	if s.closed.Load() {
		return fmt.Errorf("redis drop namespace: %w", store.ErrClosed)
	}
	iter := s.rdb.Scan(ctx, 0, s.base+"*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 500 {
			if err := s.rdb.Unlink(ctx, batch...).Err(); err != nil {
				return s.fail(ctx, "drop namespace", err)
			}
			batch = batch[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return s.fail(ctx, "drop namespace", err)
	}
	if len(batch) > 0 {
		return s.fail(ctx, "drop namespace", s.rdb.Unlink(ctx, batch...).Err())
	}
	return nil
}
