package signaling

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	pwebrtc "github.com/pion/webrtc/v4"
	"golang.org/x/crypto/bcrypt"

	"pingan/configs"
	"pingan/internal/auth"
	boltstore "pingan/internal/store/bolt"
	"pingan/internal/testutil/peer"
	"pingan/media"
	"pingan/media/room"
	"pingan/media/webrtc"
)

// roomClock is the settable clock of the test auth service.
type roomClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *roomClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *roomClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// roomsAuth maps fixed tokens to users and passes join tokens to a real
// auth service.
type roomsAuth struct{ svc *auth.Service }

func (a roomsAuth) Authenticate(ctx context.Context, tok string) (auth.Principal, error) {
	switch tok {
	case "leader":
		return auth.Principal{Username: "leader1", Role: auth.RoleLeader, Region: "14"}, nil
	case "leader2":
		return auth.Principal{Username: "leader2", Role: auth.RoleLeader, Region: "14"}, nil
	case "trainee":
		return auth.Principal{Username: "trainee1", Role: auth.RoleTrainee, Region: "1401"}, nil
	case "op":
		return auth.Principal{Username: "op", Role: auth.RoleOperator, Region: "14"}, nil
	}
	return a.svc.Authenticate(ctx, tok)
}

// roomsEnv is a media hub, WebRTC engine, room manager (on a bbolt room
// store), auth service and the rooms, WHIP, WHEP and WebSocket areas on an
// httptest server.
type roomsEnv struct {
	hub   *media.Hub
	eng   *webrtc.Engine
	rooms *room.Manager
	svc   *auth.Service
	clock *roomClock
	whip  *WHIPAPI
	whep  *WHEPAPI
	srv   *httptest.Server
	// stop shuts the env down like a stopping hub (idempotent).
	stop func()
}

func newRoomsEnv(t *testing.T) *roomsEnv {
	t.Helper()
	e := startRoomsEnv(t, filepath.Join(t.TempDir(), "pingan.db"), &roomClock{t: time.Now()})
	t.Cleanup(e.stop)
	return e
}

// startRoomsEnv starts the rooms areas on the bbolt file dbPath, restoring
// the rooms it holds; e.stop shuts them down and closes the file, so a
// second startRoomsEnv on the same file is a hub restart.
func startRoomsEnv(t *testing.T, dbPath string, clock *roomClock) *roomsEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	hub := media.NewHub(media.Config{ReadyTimeout: 5 * time.Second})
	var wg sync.WaitGroup
	wg.Go(func() { _ = hub.Run(ctx) })
	eng, err := webrtc.NewEngine(webrtc.Config{UDPPort: -1, TCPPort: -1, IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	st, err := boltstore.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	m, err := room.NewManager(room.Config{Streams: hub, Engine: eng, Store: NewRoomStore(st)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { _ = m.Run(ctx) })
	svc, err := auth.New(st, configs.AuthConfig{TokenTTL: configs.Duration(time.Hour), LoginMaxFailures: 5,
		LoginWindow: configs.Duration(time.Minute)}, nil, auth.WithClock(clock.Now), auth.WithBcryptCost(bcrypt.MinCost))
	if err != nil {
		t.Fatal(err)
	}
	base := StreamAccessFunc(func(p auth.Principal, id media.StreamID) bool {
		if p.Room != "" {
			return strings.HasPrefix(string(id), "room/"+p.Room+"/")
		}
		return true
	})
	rooms := &RoomsAPI{Rooms: m, Tokens: svc, Access: base}
	whip := &WHIPAPI{Streams: hub, Engine: eng, Rooms: m}
	wg.Go(func() { _ = whip.Run(ctx) })
	whep := &WHEPAPI{Streams: hub, Engine: eng, Access: rooms.StreamAccess(base), Context: ctx}
	ws := NewWSHub(nil, nil, nil)
	(&RoomWS{Rooms: m, Access: base}).Register(ws)
	rt := NewRouter(roomsAuth{svc: svc}, 1<<20)
	rooms.Routes(rt)
	whip.Routes(rt)
	whep.Routes(rt)
	ws.Routes(rt)
	rt.Raw("GET /blank", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!doctype html><title>room test</title>")
	}))
	srv := httptest.NewServer(rt)
	var once sync.Once
	stop := func() {
		once.Do(func() {
			srv.CloseClientConnections()
			srv.Close()
			cancel()
			wg.Wait()
			_ = eng.Close()
			_ = st.Close()
		})
	}
	return &roomsEnv{hub: hub, eng: eng, rooms: m, svc: svc, clock: clock, whip: whip, whep: whep, srv: srv, stop: stop}
}

// call sends a JSON request and decodes the answer into out.
func (e *roomsEnv) call(t *testing.T, method, path, token string, body, out any) int {
	t.Helper()
	var rd *strings.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	} else {
		rd = strings.NewReader("")
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		_ = json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode
}

// wsClient is a gorilla WebSocket client speaking the room protocol.
type wsClient struct {
	t    *testing.T
	ws   *websocket.Conn
	mu   sync.Mutex
	wmu  sync.Mutex
	msgs []map[string]any
	cond chan struct{}
	n    atomic.Int64
	// onOffer, when set, answers subscriber offers.
	onOffer func(sdp string)
}

func (e *roomsEnv) dialWS(t *testing.T, token string) (*wsClient, int) {
	t.Helper()
	url := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/ws"
	ws, res, err := websocket.DefaultDialer.Dial(url, http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		code := 0
		if res != nil {
			code = res.StatusCode
		}
		return nil, code
	}
	c := &wsClient{t: t, ws: ws, cond: make(chan struct{}, 1)}
	go c.read()
	t.Cleanup(func() { _ = ws.Close() })
	return c, http.StatusSwitchingProtocols
}

// joinRoom dials the WebSocket with token and joins room id, failing the
// test (as who) unless the hub answers room.joined.
func (e *roomsEnv) joinRoom(t *testing.T, who, token string, id room.ID) *wsClient {
	t.Helper()
	c, code := e.dialWS(t, token)
	if c == nil {
		t.Fatalf("%s: ws %d", who, code)
	}
	c.join(who, id)
	return c
}

// join joins room id, failing the test (as who) unless the hub answers
// room.joined; it returns that answer.
func (c *wsClient) join(who string, id room.ID) map[string]any {
	c.t.Helper()
	m := c.request("room.join", map[string]any{"room": id})
	if m["type"] != "room.joined" {
		c.t.Fatalf("%s: %v", who, m)
	}
	return m
}

func (c *wsClient) read() {
	for {
		var m map[string]any
		if err := c.ws.ReadJSON(&m); err != nil {
			return
		}
		if m["type"] == "room.offer" && c.onOffer != nil {
			d, _ := m["data"].(map[string]any)
			sdp, _ := d["sdp"].(string)
			go c.onOffer(sdp)
			continue
		}
		c.mu.Lock()
		c.msgs = append(c.msgs, m)
		c.mu.Unlock()
		select {
		case c.cond <- struct{}{}:
		default:
		}
	}
}

func (c *wsClient) send(typ string, data any) string {
	id := typ + "-" + string(rune('a'+c.n.Add(1)%26))
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.WriteJSON(map[string]any{"v": 1, "type": typ, "id": id, "data": data}); err != nil {
		c.t.Errorf("ws write: %v", err)
	}
	return id
}

// wait returns the first message (oldest first, consumed) for which ok holds.
func (c *wsClient) wait(d time.Duration, ok func(m map[string]any) bool) map[string]any {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		c.mu.Lock()
		for i, m := range c.msgs {
			if ok(m) {
				c.msgs = append(c.msgs[:i:i], c.msgs[i+1:]...)
				c.mu.Unlock()
				return m
			}
		}
		c.mu.Unlock()
		if time.Now().After(deadline) {
			c.t.Fatalf("no matching websocket message within %s", d)
		}
		select {
		case <-c.cond:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// request sends a message and waits for the reply with its id.
func (c *wsClient) request(typ string, data any) map[string]any {
	c.t.Helper()
	id := c.send(typ, data)
	return c.wait(10*time.Second, func(m map[string]any) bool { return m["id"] == id })
}

func ofType(typ string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["type"] == typ }
}

func roomClientAPI(t testing.TB) *pwebrtc.API {
	t.Helper()
	a, err := peer.NewAPI(peer.APIOptions{})
	roomMust(t, err)
	return a
}

func roomMust(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// pionPublisher is a pion PeerConnection sending the sample as H.264 +
// Opus (audio mid 0, video mid 1); offer is its gathered offer.
func pionPublisher(t *testing.T, ctx context.Context) (*pwebrtc.PeerConnection, string) {
	t.Helper()
	pc, err := roomClientAPI(t).NewPeerConnection(pwebrtc.Configuration{})
	roomMust(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	pionPublisherOn(t, ctx, pc)
	offer, err := peer.Offer(pc)
	roomMust(t, err)
	return pc, offer
}

// pionPublisherOn adds the sample's Opus and H.264 tracks to pc and sends
// them until ctx ends (the caller negotiates).
func pionPublisherOn(t *testing.T, ctx context.Context, pc *pwebrtc.PeerConnection) {
	t.Helper()
	tracks, err := peer.AddTracks(pc, "a", "v", "obs", nil)
	roomMust(t, err)
	go func() { _ = peer.Pump{Tracks: tracks}.Run(ctx) }()
}

// obsShaped rewrites a pion publisher offer into OBS 30+'s WHIP offer
// shape (peer.OBSOffer, stream label obs).
func obsShaped(t *testing.T, offer string) string {
	t.Helper()
	obs, err := peer.OBSOffer(offer, "obs")
	roomMust(t, err)
	return obs
}

// invite makes a join token for name in room id (the leader invites),
// failing the test unless the hub answers 201.
func (e *roomsEnv) invite(t *testing.T, id room.ID, name string) string {
	t.Helper()
	var inv struct{ Token string }
	if code := e.call(t, "POST", "/api/v1/rooms/"+string(id)+"/invites", "leader", map[string]any{"name": name}, &inv); code != 201 {
		t.Fatalf("invite %s: %d", name, code)
	}
	return inv.Token
}

// whipIntoRoom publishes the sample, OBS-shaped, over WHIP into room id
// with a join token for name; it returns the token and the session's
// Location.
func (e *roomsEnv) whipIntoRoom(t *testing.T, id room.ID, name string) (token, loc string) {
	t.Helper()
	token = e.invite(t, id, name)
	pc, offer := pionPublisher(t, t.Context())
	code, loc, answer := e.postSDP(t, "/whip/room/"+string(id), token, obsShaped(t, offer))
	if code != 201 {
		t.Fatalf("whip into room: %d %s", code, answer)
	}
	roomMust(t, pc.SetRemoteDescription(pwebrtc.SessionDescription{Type: pwebrtc.SDPTypeAnswer, SDP: answer}))
	return token, loc
}

// postSDP posts an SDP offer and returns status, Location and body.
func (e *roomsEnv) postSDP(t *testing.T, path, token, offer string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(offer))
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	roomMust(t, err)
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return res.StatusCode, res.Header.Get("Location"), b.String()
}
