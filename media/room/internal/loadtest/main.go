// Command loadtest measures the room SFU with its clients in another
// process: the parent is the hub (media hub, WebRTC engine, room Manager
// and a small WebSocket signaling endpoint on 127.0.0.1), the child runs
// the pion participants — a presenter publishing the shipped H.264 sample
// (SEI-padded to -bitrate) and N class viewers, or a meeting where
// everyone publishes and sees everyone. The parent reports its own CPU
// (per packet sent and in cores), RSS and goroutines per viewer; the child
// reports loss (RTP sequence gaps), frames per second and bitrate at the
// viewers. Every round is bounded and stops by itself.
//
//	go run ./media/room/internal/loadtest -class 100,400,1000 -meeting 10 -duration 10s
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"pingan/internal/loadtest/procstat"
	"pingan/media"
	"pingan/media/room"
	"pingan/media/webrtc"
)

func main() {
	class := flag.String("class", "100,400,1000", "class rounds: viewer counts, comma-separated (empty: none)")
	meeting := flag.String("meeting", "10", "meeting rounds: sizes, comma-separated (empty: none)")
	duration := flag.Duration("duration", 10*time.Second, "measurement window per round")
	bitrate := flag.Int("bitrate", 1500, "presenter video bitrate in kbit/s (SEI-padded)")
	tcp := flag.Bool("tcp", false, "also offer ICE-TCP candidates")
	child := flag.Bool("child", false, "internal: run the clients of one round")
	url := flag.String("url", "", "internal: the hub's join URL")
	pubs := flag.Int("publishers", 1, "internal: publishing participants")
	viewers := flag.Int("viewers", 0, "internal: viewing participants")
	flag.Parse()
	if *child {
		if err := runClients(*url, *pubs, *viewers, *bitrate, *duration); err != nil {
			fmt.Fprintln(os.Stderr, "clients:", err)
			os.Exit(1)
		}
		return
	}
	if err := runHub(*class, *meeting, *duration, *bitrate, *tcp); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// hub is the parent: the SFU and its signaling endpoint.
type hub struct {
	media *media.Hub
	eng   *webrtc.Engine
	rooms *room.Manager
	ctx   context.Context

	mu    sync.Mutex
	parts []*room.Participant
	base  int // goroutines between rounds
}

func runHub(class, meeting string, d time.Duration, kbps int, tcp bool) error {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mh := media.NewHub(media.Config{ReaderQueue: 1024})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { _ = mh.Run(ctx) })
	eng, err := webrtc.NewEngine(webrtc.Config{UDPPort: -1, TCPPort: -1, DisableTCP: !tcp,
		IncludeLoopback: true, ListenIPs: []string{"127.0.0.1"}})
	if err != nil {
		return err
	}
	defer eng.Close()
	m, err := room.NewManager(room.Config{Streams: mh, Engine: eng, MaxMeetingMembers: 100})
	if err != nil {
		return err
	}
	wg.Go(func() { _ = m.Run(ctx) })
	h := &hub{media: mh, eng: eng, rooms: m, ctx: ctx}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(h.join), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	url := "ws://" + ln.Addr().String() + "/join"
	h.base = runtime.NumGoroutine()
	fmt.Printf("window=%s presenter=%dkbit/s GOMAXPROCS=%d NumCPU=%d tcp=%v; clients run in a child process\n",
		d, kbps, runtime.GOMAXPROCS(0), runtime.NumCPU(), tcp)
	fmt.Println("hub cpu = parent user+sys CPU over the window (cores = CPU s per s); cpu/pkt per RTP packet sent to subscribers;")
	fmt.Println("rss and goroutines per member are the parent's growth since before the round; loss = RTP sequence gaps at the receivers;")
	fmt.Println("streams = decoding/expected video streams when the window starts (a minute plus 50 ms per member at most);")
	fmt.Println("fps and kbit/s are per expected video stream; join = first member joined → every stream decoding (or the bound);")
	fmt.Println("client cpu = the child's CPU (cores); box idle = the machine's idle share; udp drops = host UDP buffer drops, all over the window")
	fmt.Println("round          members streams    pkts sent  hub cpu   cpu/pkt  rss/member  gor/member  loss     fps    kbit/s  join    client cpu  box idle  udp drops")
	for _, r := range rounds(class, meeting) {
		if err := h.round(url, r, d, kbps); err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
	}
	return nil
}

type roundSpec struct {
	name       string
	kind       room.Kind
	publishers int
	viewers    int
}

func rounds(class, meeting string) []roundSpec {
	var out []roundSpec
	for _, f := range splitInts(class) {
		out = append(out, roundSpec{name: fmt.Sprintf("class 1→%d", f), kind: room.KindClass, publishers: 1, viewers: f})
	}
	for _, f := range splitInts(meeting) {
		out = append(out, roundSpec{name: fmt.Sprintf("meeting %d", f), kind: room.KindMeeting, publishers: f})
	}
	return out
}

func splitInts(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

// round runs one room with its clients in a child process and prints a line.
func (h *hub) round(url string, spec roundSpec, d time.Duration, kbps int) error {
	rm, err := h.rooms.Create(room.CreateOptions{Kind: spec.kind, Name: spec.name, Host: "loadtest"})
	if err != nil {
		return err
	}
	defer h.settle(rm)
	runtime.GC()
	rss0, g0 := procstat.RSS(), runtime.NumGoroutine()
	// Bounded: joining gets a minute plus 100 ms per member, then the window.
	members := spec.publishers + spec.viewers
	bound := time.Minute + time.Duration(members)*100*time.Millisecond + d + 30*time.Second
	ctx, cancel := context.WithTimeout(h.ctx, bound)
	defer cancel()
	sc, wait, err := procstat.StartChild(ctx, "-child", "-url", url+"?room="+string(rm.ID()),
		"-publishers", strconv.Itoa(spec.publishers), "-viewers", strconv.Itoa(spec.viewers),
		"-bitrate", strconv.Itoa(kbps), "-duration", d.String())
	if err != nil {
		return err
	}
	defer func() { _ = wait() }()
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "READY") {
		return fmt.Errorf("the clients did not get ready (%q)", sc.Text())
	}
	var joinTime time.Duration
	decoding := 0
	if f := strings.Fields(sc.Text()); len(f) == 3 {
		joinTime, _ = time.ParseDuration(f[1])
		decoding, _ = strconv.Atoi(f[2])
	}
	rss1, g1 := procstat.RSS(), runtime.NumGoroutine()
	cpu0, sent0, t0 := procstat.CPUTime(), h.sent(), time.Now()
	idle0, total0 := procstat.BoxCPU()
	drops0 := procstat.UDPDrops()
	if !sc.Scan() {
		return errors.New("the clients gave no result")
	}
	cpu1, sent1, t1 := procstat.CPUTime(), h.sent(), time.Now()
	idle1, total1 := procstat.BoxCPU()
	drops1 := procstat.UDPDrops()
	var res result
	if err := json.Unmarshal(sc.Bytes(), &res); err != nil {
		return fmt.Errorf("result %q: %w", sc.Text(), err)
	}
	pkts := uint64(0)
	if sent1 > sent0 { // a participant that left takes its count along
		pkts = sent1 - sent0
	}
	loss := 0.0
	if exp := res.Packets + res.Lost; exp > 0 {
		loss = float64(res.Lost) / float64(exp) * 100
	}
	win := t1.Sub(t0).Seconds()
	streams := max(res.Streams, 1)
	fmt.Printf("%-14s %7d %4d/%-4d %10d  %5.2f c  %5.2fµs  %8.0fKB  %10.1f  %5.2f%%  %5.1f  %7.0f  %-6s  %8.2f c  %7.0f%%  %9d\n",
		spec.name, members, decoding, res.Streams, pkts, (cpu1-cpu0).Seconds()/win,
		float64((cpu1-cpu0).Nanoseconds())/1e3/float64(max(pkts, 1)),
		float64(rss1-rss0)/1024/float64(members), float64(g1-g0)/float64(members), loss,
		float64(res.Frames)/res.Window/float64(streams), float64(res.Bytes)*8/1000/res.Window/float64(streams),
		joinTime.Round(100*time.Millisecond).String(), res.CPU/res.Window,
		float64(idle1-idle0)/float64(max(total1-total0, 1))*100, drops1-drops0)
	h.take()
	return nil
}

// settle ends the round's room and waits (at most 30 s) until the hub is
// back to its goroutines from before, so the next round starts clean.
func (h *hub) settle(rm *room.Room) {
	h.mu.Lock()
	base := h.base
	h.mu.Unlock()
	rm.End("round over")
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if h.eng.Peers() == 0 && runtime.NumGoroutine() <= base+20 {
			return
		}
	}
}

// sent is the packets the subscribers of the round's participants sent.
func (h *hub) sent() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	var n uint64
	for _, p := range h.parts {
		if s := p.Subscriber(); s != nil {
			n += s.Stats().PacketsSent
		}
	}
	return n
}

func (h *hub) take() {
	h.mu.Lock()
	h.parts = nil
	h.mu.Unlock()
}

// msg is the harness's signaling message (one JSON object per WebSocket
// message): joined, offer, answer, publish, published.
type msg struct {
	Type        string `json:"type"`
	SDP         string `json:"sdp,omitempty"`
	Participant string `json:"participant,omitempty"`
	Error       string `json:"error,omitempty"`
}

var upgrader = websocket.Upgrader{ReadBufferSize: 16 << 10, WriteBufferSize: 16 << 10}

// join serves one participant: ?room=&name=&role=. Server offers go out as
// "offer"; the client sends "answer" and "publish" (answered "published").
// One reader (this goroutine) and one writer per socket.
func (h *hub) join(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rm, ok := h.rooms.Get(room.ID(q.Get("room")))
	if !ok {
		http.Error(w, "no such room", http.StatusNotFound)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer ws.Close()
	out := make(chan msg, 64)
	done := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(done)
	wg.Go(func() {
		for {
			select {
			case m := <-out:
				_ = ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
				if ws.WriteJSON(m) != nil {
					_ = ws.Close()
					return
				}
			case <-done:
				return
			}
		}
	})
	send := func(m msg) {
		select {
		case out <- m:
		case <-done:
		default:
			_ = ws.Close() // a client this slow is dropped
		}
	}
	p, err := rm.Join(room.JoinOptions{Name: q.Get("name"), User: q.Get("name"), Role: room.Role(q.Get("role")),
		OnEvent: func(ev room.Event) {
			if ev.Type == room.EventOffer {
				send(msg{Type: "offer", SDP: ev.SDP})
			}
		}})
	if err != nil {
		send(msg{Type: "error", Error: err.Error()})
		return
	}
	defer p.Leave()
	h.mu.Lock()
	h.parts = append(h.parts, p)
	h.mu.Unlock()
	send(msg{Type: "joined", Participant: string(p.ID())})
	for {
		var m msg
		if err := ws.ReadJSON(&m); err != nil {
			return
		}
		switch m.Type {
		case "answer":
			if err := p.Answer(m.SDP); err != nil {
				slog.Warn("answer refused", "participant", p.ID(), "err", err)
			}
		case "publish":
			ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
			res, err := p.Publish(ctx, m.SDP, room.PublishOptions{})
			cancel()
			if err != nil {
				send(msg{Type: "error", Error: err.Error()})
				continue
			}
			send(msg{Type: "published", SDP: res.Answer})
		}
	}
}
