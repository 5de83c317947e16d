package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"pingan/internal/browsertest"
)

// TestConsoleClassTrainerAndTrainee: a trainer (logged in on the console)
// broadcasts the fake camera in a class; a trainee invited as a viewer
// watches it on the class page, raises a hand, and the trainer sees the
// hand and the trainee in the attendance panel.
func TestConsoleClassTrainerAndTrainee(t *testing.T) {
	h := startHub(t, false, nil)
	if code := h.call("POST", "/api/v1/users", h.admin, map[string]string{"username": "teacher", "password": "teacher-pass-1", "role": "trainer", "region": "1401"}, nil); code/100 != 2 {
		t.Fatalf("create trainer: %d", code)
	}
	trainerTok := h.login("teacher", "teacher-pass-1")
	var room struct{ ID string }
	if code := h.call("POST", "/api/v1/rooms", trainerTok, map[string]string{"kind": "class", "name": "人民调解员培训"}, &room); code != 201 {
		t.Fatalf("POST /api/v1/rooms: %d", code)
	}
	var inv struct{ Token, URL string }
	if code := h.call("POST", "/api/v1/rooms/"+room.ID+"/invites", trainerTok, map[string]any{"name": "学员乙", "role": "viewer"}, &inv); code != 201 {
		t.Fatalf("invite: %d", code)
	}

	b1 := browsertest.Start(t, browsertest.Options{FakeMedia: true})
	b2 := browsertest.Start(t, browsertest.Options{FakeMedia: true})
	trainer := b1.NewPage()
	trainee := b2.NewPage()
	uiLogin(trainer, h.base, "teacher", "teacher-pass-1")
	trainer.Do(20*time.Second, chromedp.Navigate(h.base+"/class/"+room.ID))
	page := `document.querySelector('[data-testid="page-class"]')`
	trainer.WaitJS(page+` && `+page+`.dataset.state === 'joined' && `+page+`.dataset.role === 'presenter'`, 30*time.Second)
	trainer.Do(10*time.Second, chromedp.Click(tid("broadcast-camera")))
	trainer.WaitJS(page+`.dataset.published === '1'`, 30*time.Second)
	trainerID := browsertest.Eval[string](trainer, page+`.dataset.participant`)

	trainee.Do(20*time.Second, chromedp.Navigate(h.base+inv.URL))
	trainee.WaitJS(page+` && `+page+`.dataset.state === 'joined' && `+page+`.dataset.role === 'viewer'`, 30*time.Second)
	traineeID := browsertest.Eval[string](trainee, page+`.dataset.participant`)
	trainee.WaitJS(`window.pingan.roomPeers().length === 1`, 30*time.Second)
	if got, want := roomPeers(trainee), fmt.Sprintf("room/%s/%s", room.ID, trainerID); got[0] != want {
		t.Fatalf("trainee shows %v, want [%s]", got, want)
	}
	waitFramesGrow(t, trainee, "trainee")
	if n := len(roomPeers(trainer)); n != 0 {
		t.Fatalf("the trainer shows %d remote streams; the trainee does not publish", n)
	}

	trainee.Do(10*time.Second, chromedp.Click(tid("raise-hand")))
	trainer.WaitJS(fmt.Sprintf(`document.querySelector('[data-testid="hand-row"][data-participant=%q]')`, traineeID), 10*time.Second)
	trainer.WaitJS(fmt.Sprintf(`(() => { const r = document.querySelector('[data-testid="attendance-row"][data-participant=%q]'); return r && r.textContent.includes('学员乙'); })()`, traineeID), 10*time.Second)
	href := browsertest.Eval[string](trainer, `document.querySelector('[data-testid="attendance-csv"]').href`)
	if !strings.Contains(href, "access_token=") {
		t.Fatalf("attendance link %q has no access_token", href)
	}

	trainer.Screenshot("page-class")
	trainee.Screenshot("page-class-trainee")
	for name, p := range map[string]*browsertest.Page{"trainer": trainer, "trainee": trainee} {
		if errs := p.ConsoleErrors(); len(errs) > 0 {
			t.Fatalf("console errors on the %s's class page:\n%s", name, strings.Join(errs, "\n"))
		}
	}
}
