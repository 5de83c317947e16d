// Package web is the operator console: static files embedded with go:embed
// and served as they are (no build step, no CDN, no external fonts), so the
// console works on intranets without internet. It imports nothing of ours.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var static embed.FS

// Files returns the console's files.
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	return sub
}

// Handler serves the console. Unknown paths under the app fall back to
// index.html so deep links (e.g. /cases/{code}) open the console.
func Handler() http.Handler {
	files := Files()
	fsrv := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; connect-src 'self' ws: wss:")
		p := r.URL.Path
		if isAPIPath(p) {
			// An API route nobody registered: answer like the API does,
			// not with the console's HTML.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"code":"not_found","message":"no such endpoint"}}` + "\n"))
			return
		}
		if p != "/" {
			if _, err := fs.Stat(files, p[1:]); err != nil {
				r2 := r.Clone(r.Context())
				r2.URL.Path = "/"
				fsrv.ServeHTTP(w, r2)
				return
			}
		}
		fsrv.ServeHTTP(w, r)
	})
}

// isAPIPath reports whether p belongs to the hub's API rather than the
// console, so unknown endpoints get a JSON 404 instead of index.html.
func isAPIPath(p string) bool {
	for _, prefix := range []string{"/api/", "/whep/", "/whip/"} {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return p == "/ws" || p == "/api"
}
