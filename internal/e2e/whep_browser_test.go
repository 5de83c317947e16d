package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"pingan/internal/browsertest"
)

// TestChromiumPlaysDemoOverWHEP: a real Chromium decodes a demo stream
// relayed over WHEP (getStats framesDecoded grows).
func TestChromiumPlaysDemoOverWHEP(t *testing.T) {
	h := startHub(t, true, nil)
	b := browsertest.Start(t, browsertest.Options{})
	p := b.NewPage()
	p.Do(20*time.Second, chromedp.Navigate(h.base+"/"))
	start := time.Now()
	browsertest.Eval[bool](p, fmt.Sprintf(`import('/whep.js').then(async (m) => {
		const v = document.createElement('video');
		v.muted = true; v.autoplay = true; document.body.append(v);
		window.__whep = await m.whepPlay(v, '/whep/demo/1', %q);
		return true;
	})`, h.admin))
	p.WaitJS(`window.__whep.stats().then(s => s.framesDecoded > 0)`, 20*time.Second)
	first := time.Since(start)
	n1 := browsertest.Eval[int](p, `window.__whep.stats().then(s => s.framesDecoded)`)
	time.Sleep(time.Second)
	n2 := browsertest.Eval[int](p, `window.__whep.stats().then(s => s.framesDecoded)`)
	if n2 <= n1 {
		t.Fatalf("framesDecoded did not grow: %d then %d", n1, n2)
	}
	t.Logf("first decoded frame after %s; %d frames decoded in the next second", first, n2-n1)
	p.Screenshot("whep-demo")
}
