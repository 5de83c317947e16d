package signaling

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pwebrtc "github.com/pion/webrtc/v4"

	"pingan/internal/testutil/peer"
	"pingan/media"
	"pingan/media/room"
)

func TestRoomHTTPAPI(t *testing.T) {
	e := newRoomsEnv(t)
	var created room.Info
	if code := e.call(t, "POST", "/api/v1/rooms", "leader", map[string]string{"kind": "meeting", "name": "调解 #1", "case": "C-1"}, &created); code != 201 {
		t.Fatalf("create: %d", code)
	}
	if created.ID == "" || created.Kind != room.KindMeeting || created.Host != "leader1" || created.Participants == nil {
		t.Fatalf("created %+v", created)
	}
	for _, tc := range []struct {
		token string
		body  any
		want  int
	}{
		{"trainee", map[string]string{"kind": "class", "name": "x"}, 403},
		{"leader", map[string]string{"kind": "party", "name": "x"}, 400},
		{"leader", map[string]string{"kind": "class"}, 400},
		{"leader", map[string]any{"kind": "class", "name": "x", "extra": 1}, 400},
		{"", map[string]string{"kind": "class", "name": "x"}, 401},
	} {
		if code := e.call(t, "POST", "/api/v1/rooms", tc.token, tc.body, nil); code != tc.want {
			t.Errorf("create %v by %q: %d, want %d", tc.body, tc.token, code, tc.want)
		}
	}
	var list struct{ Rooms []room.Info }
	if code := e.call(t, "GET", "/api/v1/rooms", "trainee", nil, &list); code != 200 || len(list.Rooms) != 1 {
		t.Fatalf("list: %d %+v", code, list)
	}
	path := "/api/v1/rooms/" + string(created.ID)
	var got room.Info
	if code := e.call(t, "GET", path, "leader", nil, &got); code != 200 || got.Name != "调解 #1" || got.Case != "C-1" {
		t.Fatalf("get: %d %+v", code, got)
	}
	if code := e.call(t, "GET", "/api/v1/rooms/nope", "leader", nil, nil); code != 404 {
		t.Errorf("get unknown: %d", code)
	}
	// Only the room's hosts manage it.
	if code := e.call(t, "POST", path+"/invites", "leader2", map[string]any{"name": "party A"}, nil); code != 403 {
		t.Errorf("invite by another leader: %d", code)
	}
	var inv struct{ Token, URL string }
	if code := e.call(t, "POST", path+"/invites", "leader", map[string]any{"name": "party A", "role": "participant", "ttl": "30m"}, &inv); code != 201 {
		t.Fatalf("invite: %d", code)
	}
	if inv.Token == "" || !strings.HasPrefix(inv.URL, "/meeting/"+string(created.ID)+"?token=") {
		t.Errorf("invite %+v", inv)
	}
	for _, ttl := range []any{"10s", 90000, "forever"} {
		if code := e.call(t, "POST", path+"/invites", "leader", map[string]any{"name": "x", "ttl": ttl}, nil); code != 400 {
			t.Errorf("invite ttl %v: %d", ttl, code)
		}
	}
	if code := e.call(t, "POST", path+"/invites", "leader", map[string]any{"name": "x", "role": "host"}, nil); code != 400 {
		t.Errorf("guest host invite: %d", code)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+path+"/attendance.csv", nil)
	req.Header.Set("Authorization", "Bearer leader")
	res, err := http.DefaultClient.Do(req)
	roomMust(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") || !strings.HasPrefix(string(body), "participant,name") {
		t.Errorf("attendance: %d %s %q", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	if code := e.call(t, "DELETE", path, "trainee", nil, nil); code != 403 {
		t.Errorf("delete by trainee: %d", code)
	}
	if code := e.call(t, "DELETE", path, "leader", nil, nil); code != 204 {
		t.Errorf("delete: %d", code)
	}
	if code := e.call(t, "GET", path, "leader", nil, &got); code != 200 || got.Ended == nil {
		t.Errorf("ended room: %d %+v", code, got)
	}
	if code := e.call(t, "POST", path+"/invites", "leader", map[string]any{"name": "late"}, nil); code != 410 {
		t.Errorf("invite to an ended room: %d", code)
	}
}

// TestRoomJoinTokens: a join token lets a guest into its room only, over
// the WebSocket and the API, and stops working when it expires.
func TestRoomJoinTokens(t *testing.T) {
	e := newRoomsEnv(t)
	var a, b room.Info
	e.call(t, "POST", "/api/v1/rooms", "leader", map[string]string{"kind": "meeting", "name": "A"}, &a)
	e.call(t, "POST", "/api/v1/rooms", "leader", map[string]string{"kind": "meeting", "name": "B"}, &b)
	var inv struct{ Token string }
	if code := e.call(t, "POST", "/api/v1/rooms/"+string(a.ID)+"/invites", "leader", map[string]any{"name": "张三", "ttl": 120}, &inv); code != 201 {
		t.Fatalf("invite: %d", code)
	}
	c, code := e.dialWS(t, inv.Token)
	if c == nil {
		t.Fatalf("ws dial with a join token: %d", code)
	}
	if m := c.request("room.join", map[string]any{"room": b.ID}); m["type"] != "error" {
		t.Errorf("joined room B with A's token: %v", m)
	}
	m := c.request("room.join", map[string]any{"room": a.ID, "name": "ignored"})
	if m["type"] != "room.joined" {
		t.Fatalf("join A: %v", m)
	}
	data := m["data"].(map[string]any)
	if data["role"] != "participant" {
		t.Errorf("guest role %v", data["role"])
	}
	info := data["room"].(map[string]any)
	parts := info["participants"].([]any)
	if len(parts) != 1 || parts[0].(map[string]any)["name"] != "张三" {
		t.Errorf("participants %v", parts)
	}
	if code := e.call(t, "GET", "/api/v1/rooms/"+string(b.ID), inv.Token, nil, nil); code != 404 {
		t.Errorf("guest reads room B: %d", code)
	}
	if code := e.call(t, "GET", "/api/v1/rooms/"+string(a.ID), inv.Token, nil, nil); code != 200 {
		t.Errorf("guest reads room A: %d", code)
	}
	if code := e.call(t, "POST", "/api/v1/rooms", inv.Token, map[string]string{"kind": "meeting", "name": "x"}, nil); code != 403 {
		t.Errorf("guest creates a room: %d", code)
	}
	e.clock.Advance(3 * time.Minute)
	if c2, code := e.dialWS(t, inv.Token); c2 != nil || code != 401 {
		t.Errorf("expired join token: ws status %d", code)
	}
	if code := e.call(t, "GET", "/api/v1/rooms/"+string(a.ID), inv.Token, nil, nil); code != 401 {
		t.Errorf("expired join token reads the room: %d", code)
	}
}

// wsParticipant joins a room over the WebSocket with a pion subscriber
// that answers room.offer messages, and publishes the sample.
type wsParticipant struct {
	c      *wsClient
	id     string
	sub    *pwebrtc.PeerConnection
	frames sync.Map // msid label → *atomic.Uint64
}

func (p *wsParticipant) framesOf(label string) uint64 {
	if n, ok := p.frames.Load(label); ok {
		return n.(*atomic.Uint64).Load()
	}
	return 0
}

func joinWS(t *testing.T, e *roomsEnv, token string, roomID room.ID, publish bool) *wsParticipant {
	t.Helper()
	c, code := e.dialWS(t, token)
	if c == nil {
		t.Fatalf("dial: %d", code)
	}
	sub, err := roomClientAPI(t).NewPeerConnection(pwebrtc.Configuration{})
	roomMust(t, err)
	t.Cleanup(func() { _ = sub.Close() })
	p := &wsParticipant{c: c, sub: sub}
	sub.OnTrack(func(tr *pwebrtc.TrackRemote, _ *pwebrtc.RTPReceiver) {
		if tr.Kind() != pwebrtc.RTPCodecTypeVideo {
			return
		}
		v, _ := p.frames.LoadOrStore(tr.StreamID(), &atomic.Uint64{})
		n := v.(*atomic.Uint64)
		for {
			pk, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if pk.Marker {
				n.Add(1)
			}
		}
	})
	c.onOffer = func(offer string) {
		if ans, err := peer.Answer(sub, offer); err == nil {
			c.send("room.answer", map[string]string{"sdp": ans})
		}
	}
	m := c.request("room.join", map[string]any{"room": roomID})
	if m["type"] != "room.joined" {
		t.Fatalf("join: %v", m)
	}
	p.id = m["data"].(map[string]any)["participant"].(string)
	if publish {
		pub, offer := pionPublisher(t, t.Context())
		m := c.request("room.publish", map[string]any{"sdp": offer})
		if m["type"] != "room.published" {
			t.Fatalf("publish: %v", m)
		}
		ans := m["data"].(map[string]any)["sdp"].(string)
		roomMust(t, pub.SetRemoteDescription(pwebrtc.SessionDescription{Type: pwebrtc.SDPTypeAnswer, SDP: ans}))
	}
	return p
}

// TestRoomWebSocketMeeting: two members join over the WebSocket, publish,
// answer server offers and receive each other; chat, mute and removal
// travel as room messages.
func TestRoomWebSocketMeeting(t *testing.T) {
	e := newRoomsEnv(t)
	var r room.Info
	e.call(t, "POST", "/api/v1/rooms", "leader", map[string]string{"kind": "meeting", "name": "M"}, &r)
	host := joinWS(t, e, "leader", r.ID, true)
	guest := joinWS(t, e, e.invite(t, r.ID, "party"), r.ID, true)
	roomWait(t, 20*time.Second, "media both ways", func() bool {
		return host.framesOf(guest.id) > 10 && guest.framesOf(host.id) > 10
	})
	host.c.wait(5*time.Second, func(m map[string]any) bool { return m["type"] == "room.participant.joined" })

	guest.c.send("room.chat", map[string]string{"text": "你好"})
	host.c.wait(5*time.Second, func(m map[string]any) bool {
		d, _ := m["data"].(map[string]any)
		return m["type"] == "room.chat" && d["text"] == "你好" && d["from"] == guest.id
	})
	if m := guest.c.request("room.host.mute", map[string]any{"participant": host.id, "kind": "audio"}); m["type"] != "error" {
		t.Errorf("guest host action accepted: %v", m)
	}
	if m := host.c.request("room.host.mute", map[string]any{"participant": guest.id, "kind": "audio"}); m["type"] != "room.ok" {
		t.Fatalf("host mute: %v", m)
	}
	guest.c.wait(5*time.Second, ofType("room.muted"))
	if m := host.c.request("room.host.remove", map[string]any{"participant": guest.id}); m["type"] != "room.ok" {
		t.Fatalf("host remove: %v", m)
	}
	guest.c.wait(5*time.Second, ofType("room.removed"))
	host.c.wait(5*time.Second, ofType("room.participant.left"))
	if m := guest.c.request("room.join", map[string]any{"room": r.ID}); m["type"] != "error" {
		t.Errorf("removed guest rejoined: %v", m)
	}
}

func roomWait(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWHIPPublishOBSOffer: an OBS-shaped WHIP offer publishes a stream a
// reader gets frames from; DELETE ends it; WHIP into a room with a join
// token adds a participant whose stream a member reads over WHEP.
func TestWHIPPublishOBSOffer(t *testing.T) {
	e := newRoomsEnv(t)
	pc, offer := pionPublisher(t, t.Context())
	obs := obsShaped(t, offer)
	if code, _, _ := e.postSDP(t, "/whip/live/class1", "trainee", obs); code != 403 {
		t.Errorf("trainee publishes: %d", code)
	}
	if code, _, _ := e.postSDP(t, "/whip/gb/34020000001320000001", "op", obs); code != 403 {
		t.Errorf("publish over a camera: %d", code)
	}
	code, loc, answer := e.postSDP(t, "/whip/live/class1", "op", obs)
	if code != 201 || !strings.HasPrefix(loc, "/whip/sessions/") {
		t.Fatalf("whip: %d %q %s", code, loc, answer)
	}
	roomMust(t, pc.SetRemoteDescription(pwebrtc.SessionDescription{Type: pwebrtc.SDPTypeAnswer, SDP: answer}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rd, err := e.hub.Subscribe(ctx, "live/class1", media.ReaderOptions{})
	roomMust(t, err)
	keyframes, units := 0, 0
	for keyframes == 0 || units < 30 {
		u, err := rd.Next(ctx)
		roomMust(t, err)
		units++
		if u.Keyframe {
			keyframes++
		}
	}
	rd.Close()
	if code, _, _ := e.postSDP(t, "/whip/live/class1", "op", obs); code != 409 {
		t.Errorf("second publisher: %d", code)
	}
	if code := e.call(t, "DELETE", loc, "leader", nil, nil); code != 404 {
		t.Errorf("delete by another user: %d", code)
	}
	if code := e.call(t, "DELETE", loc, "op", nil, nil); code != 200 {
		t.Errorf("delete: %d", code)
	}
	roomWait(t, 5*time.Second, "stream gone", func() bool { _, ok := e.hub.Info("live/class1"); return !ok })

	// Into a room, with a join token.
	var r room.Info
	e.call(t, "POST", "/api/v1/rooms", "leader", map[string]string{"kind": "meeting", "name": "M"}, &r)
	token, loc2 := e.whipIntoRoom(t, r.ID, "obs")
	var got room.Info
	roomWait(t, 10*time.Second, "the WHIP participant's stream", func() bool {
		e.call(t, "GET", "/api/v1/rooms/"+string(r.ID), "leader", nil, &got)
		if len(got.Participants) != 1 || len(got.Participants[0].Streams) != 1 {
			return false
		}
		in, ok := e.hub.Info(got.Participants[0].Streams[0])
		return ok && in.Online
	})
	stream := string(got.Participants[0].Streams[0])
	viewer, vOffer := whepViewerOffer(t)
	if code, _, _ := e.postSDP(t, "/whep/"+stream, "leader2", vOffer); code != 201 {
		t.Errorf("leader2 (not a member, a leader) over WHEP: %d", code)
	}
	_ = viewer
	if code, _, _ := e.postSDP(t, "/whep/"+stream, "trainee", vOffer); code != 403 {
		t.Errorf("a trainee outside the room over WHEP: %d", code)
	}
	if code, _, _ := e.postSDP(t, "/whep/"+stream, token, vOffer); code != 201 {
		t.Errorf("a member guest over WHEP: %d", code)
	}
	if code := e.call(t, "DELETE", loc2, token, nil, nil); code != 200 {
		t.Errorf("delete room whip: %d", code)
	}
	roomWait(t, 5*time.Second, "the WHIP participant leaves", func() bool {
		e.call(t, "GET", "/api/v1/rooms/"+string(r.ID), "leader", nil, &got)
		return len(got.Participants) == 0
	})
}

func whepViewerOffer(t *testing.T) (*pwebrtc.PeerConnection, string) {
	t.Helper()
	pc, err := roomClientAPI(t).NewPeerConnection(pwebrtc.Configuration{})
	roomMust(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	for _, k := range []pwebrtc.RTPCodecType{pwebrtc.RTPCodecTypeVideo, pwebrtc.RTPCodecTypeAudio} {
		_, err := pc.AddTransceiverFromKind(k, pwebrtc.RTPTransceiverInit{Direction: pwebrtc.RTPTransceiverDirectionRecvonly})
		roomMust(t, err)
	}
	offer, err := peer.Offer(pc)
	roomMust(t, err)
	return pc, offer
}
