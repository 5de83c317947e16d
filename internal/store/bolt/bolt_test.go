package bolt

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"
	"go.uber.org/goleak"

	"pingan/internal/store"
	"pingan/internal/store/storetest"
)

func openTemp(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "pingan.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestScoreEncodingOrder(t *testing.T) {
	vals := []float64{math.Inf(-1), -math.MaxFloat64, -1e9, -1.5, -math.SmallestNonzeroFloat64, 0,
		math.SmallestNonzeroFloat64, 1, 1.5, 1e9, math.MaxFloat64, math.Inf(1)}
	for i, v := range vals {
		if got := decodeScore(encodeScore(v)); got != v {
			t.Errorf("round trip %v = %v", v, got)
		}
		if i > 0 && string(encodeScore(vals[i-1])) >= string(encodeScore(v)) {
			t.Errorf("encode(%v) does not sort before encode(%v)", vals[i-1], v)
		}
	}
	if string(encodeScore(math.Copysign(0, -1))) != string(encodeScore(0)) {
		t.Error("-0 and +0 encode differently")
	}
}

func TestSecondOpenerFailsFast(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pingan.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	s2, err := Open(path)
	if err == nil {
		s2.Close()
		t.Fatal("second Open of a locked file succeeded")
	}
	if !errors.Is(err, bbolt.ErrTimeout) || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("second Open: %v, want a clear lock timeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("second Open took %v", d)
	}
}

func TestSweepPurgesExpired(t *testing.T) {
	s, err := open(filepath.Join(t.TempDir(), "pingan.db"), 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for i := range 5 {
		if _, err := s.Put(ctx, fmt.Sprint("lease/", i), []byte("x"), 0, 30*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Put(ctx, "keep", []byte("x"), 0, time.Hour); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var recs, exps int
		_ = s.db.View(func(tx *bbolt.Tx) error {
			recs = tx.Bucket(bucketRecords).Stats().KeyN
			exps = tx.Bucket(bucketExpiry).Stats().KeyN
			return nil
		})
		if recs == 1 && exps == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after sweeping: %d records, %d expiry entries; want 1, 1", recs, exps)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const (
	childEnv  = "PINGAN_BOLT_DURABILITY_CHILD"
	childRecs = 100000
)

// TestMain lets the test binary act as the durability child: it writes
// records, printing each acknowledged key, until the parent kills it.
func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		os.Exit(durabilityChild(path))
	}
	goleak.VerifyTestMain(m) // the sweeper and subscriptions end with Close
}

func durabilityChild(path string) int {
	s, err := Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	out := bufio.NewWriter(os.Stdout)
	for i := 1; i <= childRecs; i++ {
		b := new(store.Batch).Put(fmt.Sprint("rec/", i), []byte(strconv.Itoa(i)), 0).
			IndexAdd("ix", strconv.Itoa(i), float64(i)).Append("log", []byte(strconv.Itoa(i)))
		if _, err := s.Apply(ctx, b); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Fprintln(out, i) // acknowledged only after Apply returned
		out.Flush()
	}
	return 0
}

// TestDurabilityKill9: every write acknowledged before SIGKILL is there
// after reopening.
func TestDurabilityKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	path := filepath.Join(t.TempDir(), "pingan.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := 0
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		n, err := strconv.Atoi(sc.Text())
		if err != nil {
			t.Fatalf("child said %q", sc.Text())
		}
		acked = n
		if acked >= 200 {
			break
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL on unix
		t.Fatal(err)
	}
	for sc.Scan() { // acknowledgements written before the kill landed
		if n, err := strconv.Atoi(sc.Text()); err == nil {
			acked = n
		}
	}
	_ = cmd.Wait()
	if acked == 0 {
		t.Fatal("child acknowledged nothing")
	}
	verifyAcked(t, path, acked)
}

func verifyAcked(t *testing.T, path string, acked int) {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	ctx := context.Background()
	for i := 1; i <= acked; i++ {
		r, err := s.Get(ctx, fmt.Sprint("rec/", i))
		if err != nil || string(r.Value) != strconv.Itoa(i) {
			t.Fatalf("acknowledged record %d of %d lost: %v", i, acked, err)
		}
	}
	_, last, err := s.LogBounds(ctx, "log")
	if err != nil || last < uint64(acked) {
		t.Fatalf("log last = %d, %v; want >= %d", last, err, acked)
	}
	n, err := s.IndexCount(ctx, "ix", 1, float64(acked))
	if err != nil || n != acked {
		t.Fatalf("index holds %d of %d acknowledged, %v", n, acked, err)
	}
	t.Logf("all %d acknowledged writes survived SIGKILL", acked)
}

func BenchmarkApply(b *testing.B) {
	storetest.BenchmarkApply(b, openTemp(b))
}

func BenchmarkApplyParallel(b *testing.B) {
	storetest.BenchmarkApplyParallel(b, openTemp(b))
}
