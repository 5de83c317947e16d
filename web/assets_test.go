package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

// Local references in HTML (src/href), JS module imports (static, dynamic
// and re-exports) and CSS url()s.
var (
	reHTMLRef   = regexp.MustCompile(`(?i)\b(?:src|href)\s*=\s*"([^"]+)"`)
	reJSImport  = regexp.MustCompile(`(?m)(?:^|[;\s])(?:import|export)\s[^'"]*?\bfrom\s*['"]([^'"]+)['"]|(?:^|[;\s])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)`)
	reCSSURL    = regexp.MustCompile(`url\(\s*['"]?([^'")]+)['"]?\s*\)`)
	reExternal  = regexp.MustCompile(`(?i)\b(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s'"]*`)
	reInlineScr = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	reInlineOn  = regexp.MustCompile(`(?i)<[^>]+\son[a-z]+\s*=`)
)

// xmlNamespaces are identifiers, not places the browser fetches from.
var xmlNamespaces = []string{"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xhtml", "http://www.w3.org/1999/xlink"}

func readAll(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := fs.WalkDir(Files(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Files(), p)
		if err != nil {
			return err
		}
		out[p] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// resolve turns a reference found in file from into a path in the FS, or
// "" when it is not a local file (anchors, data: URLs, API paths).
func resolve(from, ref string) string {
	ref, _, _ = strings.Cut(ref, "#")
	ref, _, _ = strings.Cut(ref, "?")
	switch {
	case ref == "", strings.HasPrefix(ref, "data:"), strings.HasPrefix(ref, "blob:"), strings.HasPrefix(ref, "mailto:"):
		return ""
	case strings.HasPrefix(ref, "/api/"), strings.HasPrefix(ref, "/whep/"), strings.HasPrefix(ref, "/whip/"):
		return ""
	case strings.HasPrefix(ref, "/"):
		return strings.TrimPrefix(path.Clean(ref), "/")
	}
	return path.Clean(path.Join(path.Dir(from), ref))
}

func TestEveryReferencedFileExists(t *testing.T) {
	files := readAll(t)
	index, ok := files["index.html"]
	if !ok {
		t.Fatal("no index.html")
	}
	check := func(from, ref string) {
		t.Helper()
		p := resolve(from, ref)
		if p == "" {
			return
		}
		if _, ok := files[p]; !ok {
			t.Errorf("%s references %q: %s is not in the embedded files", from, ref, p)
		}
	}
	for _, m := range reHTMLRef.FindAllStringSubmatch(index, -1) {
		ref := m[1]
		if strings.HasPrefix(ref, "/") && !strings.Contains(path.Base(ref), ".") {
			continue // a console route such as /wall, not a file
		}
		check("index.html", ref)
	}
	modules := 0
	for p, body := range files {
		switch path.Ext(p) {
		case ".js":
			modules++
			for _, m := range reJSImport.FindAllStringSubmatch(stripComments(body), -1) {
				ref := m[1] + m[2] + m[3]
				if !strings.HasPrefix(ref, ".") && !strings.HasPrefix(ref, "/") {
					t.Errorf("%s imports %q: bare module specifiers need a build step; use a relative path", p, ref)
					continue
				}
				check(p, ref)
			}
		case ".css":
			for _, m := range reCSSURL.FindAllStringSubmatch(body, -1) {
				check(p, m[1])
			}
		}
	}
	if modules < 10 {
		t.Errorf("found %d JS modules; the console should have its page modules embedded", modules)
	}
}

// stripComments drops // line comments so words like "import" in prose do
// not count; strings containing // are rare in our modules and the
// patterns above need quotes anyway.
func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, "//") || strings.HasPrefix(trim, "*") || strings.HasPrefix(trim, "/*") {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

func TestNoExternalHosts(t *testing.T) {
	for p, body := range readAll(t) {
		for _, ns := range xmlNamespaces {
			body = strings.ReplaceAll(body, ns, "")
		}
		for _, m := range reExternal.FindAllString(body, -1) {
			if strings.HasPrefix(m, "//") && !strings.Contains(m, "://") {
				// protocol-relative URL: also external
				t.Errorf("%s references an external host: %s", p, m)
				continue
			}
			if strings.Contains(strings.ToLower(m), "http") {
				t.Errorf("%s references an external host: %s", p, m)
			}
		}
	}
}

// The CSP forbids inline scripts and inline event handlers; catch them
// before a browser does.
func TestNoInlineScripts(t *testing.T) {
	for p, body := range readAll(t) {
		if path.Ext(p) != ".html" {
			continue
		}
		for _, m := range reInlineScr.FindAllStringSubmatch(body, -1) {
			if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
				t.Errorf("%s has an inline <script>; the Content-Security-Policy blocks it", p)
			}
		}
		if reInlineOn.MatchString(body) {
			t.Errorf("%s has an inline on…= handler; the Content-Security-Policy blocks it", p)
		}
	}
}

func TestUnknownAPIPathIsJSON404(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	for _, p := range []string{"/api/v1/nothing", "/whip/room/x", "/ws"} {
		res, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: status %d, type %q; want a JSON 404", p, res.StatusCode, res.Header.Get("Content-Type"))
		}
	}
	res, err := http.Get(srv.URL + "/js/pages/wall.js")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("page module content type %q", ct)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("missing CSP: %q", csp)
	}
}
