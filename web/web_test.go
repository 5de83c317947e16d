package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestServesIndexAndScripts(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	for path, wantType := range map[string]string{
		"/":             "text/html",
		"/app.js":       "text/javascript",
		"/app.css":      "text/css",
		"/cases/abc123": "text/html", // deep link falls back to the app
	} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", path, res.StatusCode)
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, wantType) {
			t.Fatalf("%s: content type %q, want %s", path, ct, wantType)
		}
	}
}
