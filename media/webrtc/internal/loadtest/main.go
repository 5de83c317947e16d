// Command loadtest measures WHEP fan-out: one H.264 stream (the shipped
// sample, padded with filler NALUs to -bitrate) from a real media hub to N
// pion viewers running in a child process on loopback. The parent is the
// hub: it reports its CPU per packet-to-viewer, RSS per viewer, loss, and
// offer → first keyframe latency, and the publisher → reader-write latency
// (Stream.Write → the session's WriteRTP, per packet; webrtc.Config.WriteLatency).
// -cpuprofile/-memprofile write hub profiles of each round's window.
//
//	go run ./media/webrtc/internal/loadtest -viewers 1,10,100,300 -duration 10s [-single|-nogso|-batch] [-notcp] [-ips A,B] [-cpuprofile F] [-memprofile F]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"pingan/internal/loadtest/procstat"
	"pingan/internal/sample"
	"pingan/media"
	"pingan/media/webrtc"
)

// Profiles of the hub process (flags; the harness only, no production route).
var cpuProfile, memProfile string

func main() {
	viewers := flag.String("viewers", "1,10,100", "viewer counts to run, comma-separated")
	duration := flag.Duration("duration", 10*time.Second, "measurement window per count")
	batch := flag.Bool("batch", false, "batch UDP writes with pion's timer-flushed sendmmsg queue (udp.BatchConn)")
	single := flag.Bool("single", false, "one sendto per packet (no unit batching)")
	noGSO := flag.Bool("nogso", false, "unit batching with sendmmsg but without UDP GSO")
	bitrate := flag.Int("bitrate", 2000, "video bitrate in kbit/s (filler-padded)")
	noTCP := flag.Bool("notcp", false, "hub without ICE-TCP (fewer local candidates per viewer)")
	ips := flag.String("ips", "127.0.0.1", "hub ICE addresses, comma-separated (the viewers reach only loopback); empty: every interface address plus loopback")
	child := flag.Bool("child", false, "internal: run viewers")
	n := flag.Int("n", 1, "internal: viewers in the child")
	url := flag.String("url", "", "internal: WHEP url")
	flag.StringVar(&cpuProfile, "cpuprofile", "", "write a hub CPU profile of each round's window to FILE.<viewers>")
	flag.StringVar(&memProfile, "memprofile", "", "write a hub heap profile at the end of each round's window to FILE.<viewers>")
	flag.Parse()
	if *child {
		if err := runViewers(*url, *n, *duration); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if memProfile != "" {
		runtime.MemProfileRate = 4096 // per-session allocations are a few KB each
	}
	if err := runHub(*viewers, *duration, writeMode{timer: *batch, single: *single, noGSO: *noGSO}, *noTCP, *bitrate, *ips); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

type server struct {
	lat *webrtc.LatencyHistogram
	hub *media.Hub
	eng *webrtc.Engine
	ctx context.Context

	mu       sync.Mutex
	sessions []*webrtc.Session
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rd, err := s.hub.Subscribe(r.Context(), "bench", media.ReaderOptions{})
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	sess, answer, err := s.eng.NewWHEPSession(s.ctx, string(body), rd)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.sessions = append(s.sessions, sess)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/sdp")
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

func (s *server) take() []*webrtc.Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.sessions
	s.sessions = nil
	return out
}

// writeMode picks the hub's UDP write path.
type writeMode struct{ timer, single, noGSO bool }

func (w writeMode) String() string {
	switch {
	case w.timer:
		return "timer-batch"
	case w.single:
		return "single"
	case w.noGSO:
		return "unit-sendmmsg"
	default:
		return "unit-sendmmsg+gso"
	}
}

func runHub(counts string, d time.Duration, wm writeMode, noTCP bool, kbps int, ips string) error {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hub := media.NewHub(media.Config{ReaderQueue: 1024})
	go func() { _ = hub.Run(ctx) }()
	st, err := hub.Publish("bench")
	if err != nil {
		return err
	}
	if err := publish(ctx, st, kbps); err != nil {
		return err
	}
	lat := &webrtc.LatencyHistogram{}
	var listen []string
	if ips != "" {
		listen = strings.Split(ips, ",")
	}
	eng, err := webrtc.NewEngine(webrtc.Config{UDPPort: -1, TCPPort: -1, IncludeLoopback: true, ListenIPs: listen,
		BatchWrite: wm.timer, SingleWrites: wm.single, NoGSO: wm.noGSO, DisableTCP: noTCP, WriteLatency: lat})
	if err != nil {
		return err
	}
	defer eng.Close()
	srv := &server{lat: lat, hub: hub, eng: eng, ctx: ctx}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = http.Serve(ln, srv) }()
	url := "http://" + ln.Addr().String() + "/whep"
	fmt.Printf("writes=%v tcp=%v ice=%v bitrate=%dkbit/s window=%s GOMAXPROCS=%d\n", wm, !noTCP, eng.UDPAddrs(), kbps, d, runtime.GOMAXPROCS(0))
	fmt.Println("cpu/pkt = hub user+sys CPU per packet-to-viewer (usr/sys split: on loopback the kernel charges the viewers' UDP receive path to the sender);")
	fmt.Println("write p50/p99/max = Stream.Write → session WriteRTP per packet; udp drops = host UDP RcvbufErrors+SndbufErrors in the window")
	fmt.Println("viewers  pkts→viewers  cpu/pkt   (usr/sys)        rss/viewer  loss     udp drops  write p50/p99/max        connect p50/p99   connect→key p50/p99  POST→key p50/p99")
	for _, f := range strings.Split(counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return err
		}
		if err := round(srv, url, n, d); err != nil {
			return err
		}
	}
	return nil
}

// round runs n viewers in a child process and prints one line of figures.
func round(srv *server, url string, n int, d time.Duration) error {
	rss0, m0 := procstat.RSS(), memStats()
	sc, wait, err := procstat.StartChild(context.Background(), "-child", "-n", strconv.Itoa(n), "-url", url, "-duration", d.String())
	if err != nil {
		return err
	}
	defer func() { _ = wait() }()
	if !sc.Scan() || sc.Text() != "READY" {
		return fmt.Errorf("child did not get ready: %q", sc.Text())
	}
	stopCPU := startCPUProfile(n)
	srv.lat.Reset()
	drops0 := procstat.UDPDrops()
	usr0, sys0 := procstat.CPUSplit()
	cpu0, sent0 := procstat.CPUTime(), sent(srv)
	if !sc.Scan() {
		stopCPU()
		return fmt.Errorf("child gave no result")
	}
	cpu1, sent1 := procstat.CPUTime(), sent(srv)
	usr1, sys1 := procstat.CPUSplit()
	drops1 := procstat.UDPDrops()
	lp50, lp99, lmax := srv.lat.Quantile(0.5), srv.lat.Quantile(0.99), srv.lat.Max()
	rss1, m1 := procstat.RSS(), memStats()
	writeHeapProfile(n) // before the viewers hang up
	stopCPU()
	var res result
	if err := json.Unmarshal(sc.Bytes(), &res); err != nil {
		return fmt.Errorf("child result %q: %w", sc.Text(), err)
	}
	sessions := srv.take()
	var conn, conn2key, post2key []time.Duration
	var resent uint64 // NACK retransmissions (not in pkts; their CPU is in cpu/pkt)
	for _, s := range sessions {
		st := s.Stats()
		resent += st.Resent
		conn = append(conn, st.Connected)
		conn2key = append(conn2key, st.FirstKeyframe-st.Connected)
		post2key = append(post2key, st.FirstKeyframe)
		s.Close()
	}
	pkts := sent1 - sent0
	loss := 0.0
	if res.Expected > 0 {
		loss = float64(res.Lost) / float64(res.Expected) * 100
	}
	perPkt := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / float64(max(pkts, 1)) }
	us := func(d time.Duration) string { return d.Round(10 * time.Microsecond).String() }
	fmt.Printf("%7d  %12d  %6.2fµs  (%5.2f/%5.2fµs)  %7.0fKB  %5.2f%%  %9d  %7s/%-7s/%-8s  %7s/%-7s  %9s/%-9s  %8s/%-8s\n", n, pkts,
		perPkt(cpu1-cpu0), perPkt(usr1-usr0), perPkt(sys1-sys0),
		float64(rss1-rss0)/1024/float64(n), loss, drops1-drops0, us(lp50), us(lp99), us(lmax),
		procstat.Pct(conn, 50), procstat.Pct(conn, 99), procstat.Pct(conn2key, 50), procstat.Pct(conn2key, 99), procstat.Pct(post2key, 50), procstat.Pct(post2key, 99))
	fmt.Printf("         per viewer: %.1f goroutines, %.0fKB stacks, %.0fKB live heap (after GC), %.0fKB heap mapped; NACK resends %d\n",
		float64(m1.goroutines-m0.goroutines)/float64(n), float64(m1.stacks-m0.stacks)/1024/float64(n),
		float64(m1.live-m0.live)/1024/float64(n), float64(m1.heap-m0.heap)/1024/float64(n), resent)
	return nil
}

type mem struct{ goroutines, stacks, live, heap int64 }

// memStats splits the hub's memory (runtime/metrics; live heap is as of the
// last GC).
func memStats() mem {
	ss := []metrics.Sample{
		{Name: "/sched/goroutines:goroutines"},
		{Name: "/memory/classes/heap/stacks:bytes"},
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
	}
	metrics.Read(ss)
	v := func(i int) int64 {
		if ss[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return int64(ss[i].Value.Uint64())
	}
	return mem{goroutines: v(0), stacks: v(1), live: v(2), heap: v(3) + v(4)}
}

func startCPUProfile(n int) func() {
	if cpuProfile == "" {
		return func() {}
	}
	f, err := os.Create(fmt.Sprintf("%s.%d", cpuProfile, n))
	if err != nil {
		fmt.Fprintln(os.Stderr, "cpuprofile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "cpuprofile:", err)
		_ = f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}

func writeHeapProfile(n int) {
	if memProfile == "" {
		return
	}
	// Goroutines first: the viewers hang up right after their result line.
	if g, err := os.Create(fmt.Sprintf("%s.%d.goroutines", memProfile, n)); err == nil {
		_ = pprof.Lookup("goroutine").WriteTo(g, 1)
		_ = g.Close()
	}
	f, err := os.Create(fmt.Sprintf("%s.%d", memProfile, n))
	if err != nil {
		fmt.Fprintln(os.Stderr, "memprofile:", err)
		return
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "memprofile:", err)
	}
}

func sent(s *server) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n uint64
	for _, x := range s.sessions {
		n += x.Stats().PacketsSent
	}
	return n
}

// publish plays the sample into st, padding each video frame with a filler
// NALU (type 12) so the stream reaches kbps.
func publish(ctx context.Context, st *media.Stream, kbps int) error {
	vid, err := sample.Video()
	if err != nil {
		return err
	}
	var sps, pps []byte
	total := 0
	for _, f := range vid {
		for _, nalu := range f.NALUs {
			total += len(nalu)
			switch nalu[0] & 0x1f {
			case 7:
				sps = nalu
			case 8:
				pps = nalu
			}
		}
	}
	pad := kbps*1000/8/sample.FPS - total/len(vid)
	var filler []byte
	if pad > 1 {
		filler = make([]byte, pad)
		filler[0] = 12
		for i := 1; i < pad; i++ {
			filler[i] = 0xff
		}
	}
	st.SetTracks([]*media.Track{
		{Codec: media.H264, ClockRate: 90000, SPS: sps, PPS: pps, PayloadType: 96},
		{Codec: media.PCMA, ClockRate: 8000, PayloadType: 8},
	})
	go func() { _ = sample.Loop(ctx, sink{st, filler}) }()
	return nil
}

type sink struct {
	s      *media.Stream
	filler []byte
}

func (k sink) Video(f sample.Frame, pts int64) {
	nalus := slices.Clone(f.NALUs)
	if k.filler != nil {
		nalus = append(nalus, k.filler)
	}
	k.s.Write(&media.Unit{Track: 0, PTS: pts, Keyframe: f.Keyframe, NALUs: nalus})
}

func (k sink) Audio(b []byte, pts int64) { k.s.Write(&media.Unit{Track: 1, PTS: pts, Payload: b}) }
