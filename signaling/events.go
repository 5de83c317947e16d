package signaling

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"pingan/dispatch"
	"pingan/internal/auth"
)

// eventService is what EventsAPI and DispatchEventLog need of dispatch
// (*dispatch.Service).
type eventService interface {
	ReadEvents(ctx context.Context, p auth.Principal, after uint64, limit int) (dispatch.EventPage, error)
	Watch(ctx context.Context) <-chan uint64
}

// maxEventPage bounds GET /api/v1/events?limit=.
const maxEventPage = 1000

// EventsAPI serves the global event log over HTTP, region-filtered: what a
// console reads to catch up without a WebSocket.
type EventsAPI struct {
	svc eventService
}

// NewEventsAPI builds the events API on svc.
func NewEventsAPI(svc eventService) *EventsAPI { return &EventsAPI{svc: svc} }

// Routes registers GET /api/v1/events?after=&limit=.
func (a *EventsAPI) Routes(rt *Router) {
	rt.Handle("GET /api/v1/events", a.list, caseRoles...)
}

// list answers {"events":[...], "recovered": bool, "next": N}: pass next as
// `after` to continue; recovered false means `after` was trimmed away and
// the console must reload its lists.
func (a *EventsAPI) list(w http.ResponseWriter, r *http.Request) {
	var after uint64
	if s := r.URL.Query().Get("after"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			WriteError(w, r, dispatchParamError("after", "want an event offset"))
			return
		}
		after = n
	}
	limit, err := dispatchIntParam(r, "limit", 0, maxEventPage)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if limit == 0 {
		limit = 100
	}
	pg, err := a.svc.ReadEvents(r.Context(), caller(r), after, limit)
	if err != nil {
		WriteError(w, r, dispatchError(err))
		return
	}
	WriteJSON(w, http.StatusOK, pg)
}

// EventTopics lists the WebSocket topics of a dispatch event, most general first.
func EventTopics(ev dispatch.Event) []string {
	var topics []string
	switch {
	case strings.HasPrefix(ev.Type, dispatch.EventIncidentPrefix):
		topics = append(topics, "incidents")
		if ev.Incident != "" {
			topics = append(topics, "incident:"+string(ev.Incident))
		}
	case strings.HasPrefix(ev.Type, "case."), strings.HasPrefix(ev.Type, dispatch.EventDepartmentPrefix):
		topics = append(topics, "cases")
	default:
		prefix, _, _ := strings.Cut(ev.Type, ".")
		topics = append(topics, prefix)
	}
	if ev.Case != "" {
		topics = append(topics, "case:"+string(ev.Case))
	}
	return topics
}
