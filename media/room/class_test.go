package room

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestSelectLayers(t *testing.T) {
	three := layerCandidate{bitrates: []int64{150_000, 500_000, 1_500_000}, max: 2}
	capped := layerCandidate{bitrates: []int64{150_000, 500_000, 1_500_000}, max: 0}
	for _, tc := range []struct {
		budget int64
		cands  []layerCandidate
		want   []int
	}{
		{0, []layerCandidate{three, capped}, []int{2, 0}},         // unknown estimate: the caps
		{3_000_000, []layerCandidate{three}, []int{2}},            // plenty
		{700_000, []layerCandidate{three}, []int{1}},              // medium
		{200_000, []layerCandidate{three}, []int{0}},              // low
		{50_000, []layerCandidate{three}, []int{0}},               // below the lowest: still the lowest
		{1_300_000, []layerCandidate{three, three}, []int{1, 1}},  // shared fairly
		{2_400_000, []layerCandidate{three, capped}, []int{2, 0}}, // a capped one leaves room
		{0, nil, []int{}}, // nothing
		{2_000_000, []layerCandidate{{max: 2}}, []int{2}}, // unmeasured: default rates
		{400_000, []layerCandidate{{bitrates: []int64{0, 0, 0}, max: 2}}, []int{0}},
	} {
		got := selectLayers(tc.budget, tc.cands)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("selectLayers(%d, %v) = %v, want %v", tc.budget, tc.cands, got, tc.want)
		}
	}
}

// TestSimulcastFollowsBandwidth: a three-layer pion publisher; a
// subscriber's bandwidth estimate (fed in) moves it between layers, and a
// requested size caps it.
func TestSimulcastFollowsBandwidth(t *testing.T) {
	e := newEnv(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := e.m.Create(CreateOptions{Kind: KindMeeting, Name: "m", Host: "h"})
	must(t, err)
	pub := newClient(t).join(r, "pub", RoleParticipant)
	_, err = pub.publish(ctx, []string{"q", "h", "f"}, -1)
	must(t, err)
	info := pub.p.Info()
	main := info.Streams[0]
	sub := newClient(t).join(r, "sub", RoleParticipant)
	label := string(pub.p.ID())
	waitFor(t, 20*time.Second, "frames at the subscriber", func() bool { return sub.counters(label).frames.Load() > 10 })
	fwd := func() int {
		f := sub.p.Forwards()[main]
		if f == nil {
			return -1
		}
		return f.Layer()
	}
	if n := sub.p.Forwards()[main].NumLayers(); n != 3 {
		t.Fatalf("forward has %d layers, want 3", n)
	}
	for _, step := range []struct {
		bps   int64
		layer int
	}{{100_000, 0}, {5_000_000, 2}, {100_000, 0}} {
		sub.p.Subscriber().SetEstimate(step.bps)
		waitFor(t, 10*time.Second, fmt.Sprintf("layer %d at %d bit/s", step.layer, step.bps), func() bool { return fwd() == step.layer })
		before := sub.counters(label).frames.Load()
		waitFor(t, 5*time.Second, "frames keep coming", func() bool { return sub.counters(label).frames.Load() > before+5 })
	}
	sub.p.Subscriber().SetEstimate(5_000_000)
	must(t, sub.p.Subscribe(main, 1)) // a small tile: at most the middle layer
	waitFor(t, 10*time.Second, "layer capped at 1", func() bool { return fwd() == 1 })
	if lost := sub.counters(label).lost.Load(); lost != 0 {
		t.Errorf("%d sequence numbers missing across layer switches", lost)
	}
}

// TestClassManyViewers: one presenter, 200 viewers in-process. Every
// viewer is a room participant with its own server subscriber
// PeerConnection and a pion client PeerConnection on loopback
// (PINGAN_CLASS_VIEWERS overrides the count; -short uses 20).
func TestClassManyViewers(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 20
	}
	if v, err := strconv.Atoi(os.Getenv("PINGAN_CLASS_VIEWERS")); err == nil {
		n = v
	}
	e := newEnv(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := e.m.Create(CreateOptions{Kind: KindClass, Name: "province training", Host: "trainer"})
	must(t, err)
	host := newClient(t).join(r, "trainer", RoleHost)
	_, err = host.publish(ctx, nil, -1)
	must(t, err)
	label := string(host.p.ID())
	viewers := make([]*client, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	start := time.Now()
	for i := range viewers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			viewers[i] = newClient(t).join(r, fmt.Sprintf("trainee%03d", i), RoleViewer)
		}()
	}
	wg.Wait()
	deadline := 60*time.Second + time.Duration(n)*300*time.Millisecond
	waitFor(t, deadline, "every viewer decoding frames", func() bool {
		for _, v := range viewers {
			if v.counters(label).frames.Load() < 10 {
				return false
			}
		}
		return true
	})
	if d := os.Getenv("PINGAN_CLASS_HOLD"); d != "" {
		hold, _ := time.ParseDuration(d)
		var f0, l0 uint64
		for _, v := range viewers {
			f0 += v.counters(label).frames.Load()
			l0 += v.counters(label).lost.Load()
		}
		time.Sleep(hold) // benchmarks: a steady window
		var f1, l1 uint64
		for _, v := range viewers {
			f1 += v.counters(label).frames.Load()
			l1 += v.counters(label).lost.Load()
		}
		t.Logf("hold %s: %.1f frames/s per viewer, %d video packets missing", hold,
			float64(f1-f0)/hold.Seconds()/float64(n), l1-l0)
	}
	var lost uint64
	for _, v := range viewers {
		lost += v.counters(label).lost.Load()
	}
	t.Logf("%d viewers receiving after %s; %d goroutines; %d video packets missing in total",
		n, time.Since(start).Round(time.Millisecond), runtime.NumGoroutine(), lost)
	if in, _ := e.hub.Info(host.p.Info().Streams[0]); in.Readers != n {
		t.Errorf("presenter stream has %d readers, want %d", in.Readers, n)
	}
	if got := len(r.Attendance()); got != n+1 {
		t.Errorf("attendance %d, want %d", got, n+1)
	}
}
