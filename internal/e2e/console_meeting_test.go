package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"pingan/internal/browsertest"
)

// roomFramesJS sums what window.pingan.roomFrames() reports (framesDecoded
// per remote stream), or -1 while no remote stream is shown.
const roomFramesJS = `(async () => {
  if (!window.pingan || !window.pingan.roomFrames) return -1;
  const f = await window.pingan.roomFrames();
  const v = Object.values(f);
  return v.length ? Math.min(...v) : -1;
})()`

// waitFramesGrow waits until every remote stream on p decodes frames and
// the count keeps growing.
func waitFramesGrow(t *testing.T, p *browsertest.Page, who string) {
	t.Helper()
	// (WaitJS cannot await a promise inside its !!(…): poll with Eval.)
	deadline := time.Now().Add(30 * time.Second)
	n1 := browsertest.Eval[int](p, roomFramesJS)
	for n1 <= 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no decoded remote frames (%d)", who, n1)
		}
		time.Sleep(200 * time.Millisecond)
		n1 = browsertest.Eval[int](p, roomFramesJS)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		time.Sleep(500 * time.Millisecond)
		n2 := browsertest.Eval[int](p, roomFramesJS)
		if n2 > n1 {
			t.Logf("%s: framesDecoded %d → %d", who, n1, n2)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: framesDecoded did not grow: %d then %d", who, n1, n2)
		}
	}
}

func roomPeers(p *browsertest.Page) []string {
	return browsertest.Eval[[]string](p, `window.pingan.roomPeers()`)
}

// TestConsoleMeetingAdminAndGuest: an admin (logged in on the console)
// and a guest (opening the invite link) join the same meeting on the
// console's meeting page with fake cameras; each sees the other's video,
// both see each other in the participant list, and chat goes both ways.
func TestConsoleMeetingAdminAndGuest(t *testing.T) {
	h := startHub(t, true, nil)
	var room struct{ ID string }
	if code := h.call("POST", "/api/v1/rooms", h.admin, map[string]string{"kind": "meeting", "name": "邻里纠纷调解"}, &room); code != 201 {
		t.Fatalf("POST /api/v1/rooms: %d", code)
	}
	var inv struct{ Token, URL string }
	if code := h.call("POST", "/api/v1/rooms/"+room.ID+"/invites", h.admin, map[string]any{"name": "当事人甲", "role": "participant", "ttl": "10m"}, &inv); code != 201 {
		t.Fatalf("invite: %d", code)
	}
	if !strings.HasPrefix(inv.URL, "/meeting/"+room.ID+"?token=") {
		t.Fatalf("invite url %q", inv.URL)
	}

	b1 := browsertest.Start(t, browsertest.Options{FakeMedia: true})
	b2 := browsertest.Start(t, browsertest.Options{FakeMedia: true})
	admin := b1.NewPage()
	guest := b2.NewPage()
	uiLogin(admin, h.base, "admin", adminPassword)
	admin.Do(20*time.Second, chromedp.Navigate(h.base+"/meeting/"+room.ID))
	guest.Do(20*time.Second, chromedp.Navigate(h.base+inv.URL))

	joined := `(() => { const el = document.querySelector('[data-testid="page-meeting"]'); return el && el.dataset.state === 'joined' && el.dataset.published === '1'; })()`
	admin.WaitJS(joined, 30*time.Second)
	guest.WaitJS(joined, 30*time.Second)
	adminID := browsertest.Eval[string](admin, `window.pingan.roomMe()`)
	guestID := browsertest.Eval[string](guest, `window.pingan.roomMe()`)

	admin.WaitJS(`window.pingan.roomPeers().length === 1`, 30*time.Second)
	guest.WaitJS(`window.pingan.roomPeers().length === 1`, 30*time.Second)
	if got, want := roomPeers(admin), fmt.Sprintf("room/%s/%s", room.ID, guestID); len(got) != 1 || got[0] != want {
		t.Fatalf("admin shows %v, want [%s]", got, want)
	}
	if got, want := roomPeers(guest), fmt.Sprintf("room/%s/%s", room.ID, adminID); len(got) != 1 || got[0] != want {
		t.Fatalf("guest shows %v, want [%s]", got, want)
	}
	waitFramesGrow(t, admin, "admin")
	waitFramesGrow(t, guest, "guest")

	// Both see both in the participant list; the guest by its invite name.
	for _, p := range []*browsertest.Page{admin, guest} {
		p.WaitJS(`document.querySelectorAll('[data-testid="participant"]').length === 2`, 10*time.Second)
	}
	admin.WaitJS(`[...document.querySelectorAll('[data-testid="participant"]')].some(li => li.textContent.includes('当事人甲'))`, 10*time.Second)

	// Chat both ways; a raised hand shows on the admin's list.
	admin.Do(10*time.Second, chromedp.SendKeys(tid("chat-input"), "您好，请讲"), chromedp.Click(tid("chat-send")))
	guest.WaitJS(`document.querySelector('[data-testid="chat-log"]').textContent.includes('您好，请讲')`, 10*time.Second)
	guest.Do(10*time.Second, chromedp.SendKeys(tid("chat-input"), "我先说明情况"), chromedp.Click(tid("chat-send")))
	admin.WaitJS(`document.querySelector('[data-testid="chat-log"]').textContent.includes('我先说明情况')`, 10*time.Second)
	guest.Do(10*time.Second, chromedp.Click(tid("raise-hand")))
	admin.WaitJS(fmt.Sprintf(`document.querySelector('[data-testid="participant"][data-participant=%q]').dataset.hand === '1'`, guestID), 10*time.Second)

	// Muting the microphone is reported to the others.
	guest.Do(10*time.Second, chromedp.Click(tid("mic-toggle")))
	deadline := time.Now().Add(10 * time.Second)
	for {
		var info struct {
			Participants []struct {
				ID         string
				AudioMuted bool `json:"audio_muted"`
			}
		}
		h.call("GET", "/api/v1/rooms/"+room.ID, h.admin, nil, &info)
		muted := false
		for _, p := range info.Participants {
			muted = muted || (p.ID == guestID && p.AudioMuted)
		}
		if muted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("guest's mute not seen: %+v", info.Participants)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// A camera the host adds to the room shows on the guest's grid too.
	var cam struct{ ID string }
	if code := h.call("POST", "/api/v1/rooms/"+room.ID+"/cameras", h.admin, map[string]string{"stream": "demo/1", "name": "现场摄像机"}, &cam); code != 201 {
		t.Fatalf("add camera: %d", code)
	}
	guest.WaitJS(fmt.Sprintf(`window.pingan.roomPeers().includes(%q)`, "room/"+room.ID+"/"+cam.ID), 20*time.Second)
	waitFramesGrow(t, guest, "guest with camera")

	admin.Screenshot("page-meeting")
	guest.Screenshot("page-meeting-guest")

	// The guest leaves: the admin's grid drops its video.
	guest.Do(10*time.Second, chromedp.Click(tid("leave")))
	admin.WaitJS(fmt.Sprintf(`!window.pingan.roomPeers().includes(%q)`, "room/"+room.ID+"/"+guestID), 15*time.Second)

	for name, p := range map[string]*browsertest.Page{"admin": admin, "guest": guest} {
		if errs := p.ConsoleErrors(); len(errs) > 0 {
			t.Fatalf("console errors on the %s's meeting page:\n%s", name, strings.Join(errs, "\n"))
		}
	}
}
