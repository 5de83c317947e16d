package signaling

import (
	"math"
	"net/http"
	"time"

	"pingan/media"
)

// streamLister is what the streams API needs from the media hub.
type streamLister interface {
	Streams() []media.StreamInfo
	Info(id media.StreamID) (media.StreamInfo, bool)
}

// StreamsAPI lists the live streams a caller may watch.
type StreamsAPI struct {
	Hub    streamLister
	Access StreamAccess
}

// Routes registers GET /api/v1/streams and GET /api/v1/streams/{id...}.
func (a *StreamsAPI) Routes(rt *Router) {
	rt.Handle("GET /api/v1/streams", a.list)
	rt.Handle("GET /api/v1/streams/{id...}", a.get)
}

// streamJSON is one stream in the API.
type streamJSON struct {
	ID         media.StreamID `json:"id"`
	Codecs     []media.Codec  `json:"codecs"`
	Online     bool           `json:"online"`
	Readers    int            `json:"readers"`
	Bitrate    int64          `json:"bitrate"`
	FPS        float64        `json:"fps"`
	Source     string         `json:"source,omitempty"`
	LastPacket *time.Time     `json:"last_packet,omitempty"`
	WHEP       string         `json:"whep"`
}

func toStreamJSON(in media.StreamInfo) streamJSON {
	out := streamJSON{
		ID: in.ID, Codecs: in.Codecs, Online: in.Online, Readers: in.Readers,
		Bitrate: in.Bitrate, FPS: math.Round(in.FPS*10) / 10, Source: in.Source,
		WHEP: "/whep/" + string(in.ID),
	}
	if out.Codecs == nil {
		out.Codecs = []media.Codec{}
	}
	if !in.LastPacket.IsZero() {
		t := in.LastPacket.UTC()
		out.LastPacket = &t
	}
	return out
}

func (a *StreamsAPI) canRead(r *http.Request, id media.StreamID) bool {
	p, _ := PrincipalFrom(r.Context())
	return a.Access != nil && a.Access.CanRead(p, id)
}

func (a *StreamsAPI) list(w http.ResponseWriter, r *http.Request) {
	out := []streamJSON{}
	for _, in := range a.Hub.Streams() {
		if a.canRead(r, in.ID) {
			out = append(out, toStreamJSON(in))
		}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"streams": out})
}

// get answers 404 for streams outside the caller's scope too, so their
// existence does not leak.
func (a *StreamsAPI) get(w http.ResponseWriter, r *http.Request) {
	id := media.StreamID(r.PathValue("id"))
	in, ok := a.Hub.Info(id)
	if !ok || !a.canRead(r, id) {
		WriteError(w, r, Errorf(http.StatusNotFound, "not_found", "no stream named %q", id))
		return
	}
	WriteJSON(w, http.StatusOK, toStreamJSON(in))
}
