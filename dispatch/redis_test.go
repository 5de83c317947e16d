package dispatch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"pingan/internal/store"
	"pingan/internal/store/redis"
	"pingan/internal/testutil"
)

func init() { backends = append(backends, backend{"redis", openRedis}) }

// openRedis opens the test Redis (PINGAN_TEST_REDIS; skipped when unset,
// failed in CI) under a fresh namespace, deleted when the test ends.
func openRedis(t testing.TB) store.Store {
	t.Helper()
	url := testutil.RedisURL(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	ns := "dispatchtest-" + hex.EncodeToString(b)
	st, err := redis.New(redis.Options{URL: url, Timeout: 5 * time.Second, Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := st.Ping(ctx); err != nil {
		t.Fatalf("test redis %s: %v", url, err)
	}
	namespaces[st] = ns
	t.Cleanup(func() {
		_ = st.Close()
		dropNamespace(url, "pingan:"+ns+":*")
	})
	return st
}

// Two hubs with their own Redis connections on one database.
func TestTwoRedisHubsNeverDoubleFire(t *testing.T) {
	url := testutil.RedisURL(t)
	a := openRedis(t)
	b, err := redis.New(redis.Options{URL: url, Timeout: 5 * time.Second, Namespace: namespaceOf(a)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	testNoDoubleFire(t, a, b)
}

var namespaces = map[store.Store]string{}

func namespaceOf(st store.Store) string { return namespaces[st] }

func dropNamespace(url, pattern string) {
	opt, err := goredis.ParseURL(url)
	if err != nil {
		return
	}
	rdb := goredis.NewClient(opt)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	iter := rdb.Scan(ctx, 0, pattern, 500).Iterator()
	var keys []string
	for iter.Next(ctx) {
		if keys = append(keys, iter.Val()); len(keys) == 500 {
			rdb.Del(ctx, keys...)
			keys = keys[:0]
		}
	}
	if len(keys) > 0 {
		rdb.Del(ctx, keys...)
	}
}
