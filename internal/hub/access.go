package hub

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"pingan/gateway/rtsp"
	"pingan/internal/auth"
	"pingan/media"
)

// videoRoles may watch cameras and pushed streams; others (grid workers,
// trainees) see only the rooms they are in.
var videoRoles = []auth.Role{auth.RoleAdmin, auth.RoleOperator, auth.RoleLeader, auth.RoleMediator, auth.RoleIntegration}

// publishRoles may publish streams over RTSP or WHIP.
var publishRoles = []auth.Role{auth.RoleAdmin, auth.RoleOperator, auth.RoleTrainer, auth.RoleIntegration}

// streamAccess decides who may read which stream: cameras by region scope
// (a GB28181 channel's region comes from the device registry), room
// streams by room membership, other streams by role.
type streamAccess struct {
	mu      sync.RWMutex
	aliases map[media.StreamID]media.StreamID
	// channelRegion returns a GB28181 channel's region ("" if unknown).
	channelRegion func(channel string) (string, bool)
}

func newStreamAccess(aliases map[string]string) *streamAccess {
	a := &streamAccess{aliases: map[media.StreamID]media.StreamID{}}
	for k, v := range aliases {
		a.aliases[media.StreamID(k)] = media.StreamID(v)
	}
	return a
}

func (a *streamAccess) alias(name, target media.StreamID) {
	a.mu.Lock()
	a.aliases[name] = target
	a.mu.Unlock()
}

func (a *streamAccess) resolve(id media.StreamID) media.StreamID {
	a.mu.RLock()
	defer a.mu.RUnlock()
	for range 8 { // aliases may chain; stop on loops
		t, ok := a.aliases[id]
		if !ok {
			return id
		}
		id = t
	}
	return id
}

// CanRead implements signaling.StreamAccess.
func (a *streamAccess) CanRead(p auth.Principal, id media.StreamID) bool {
	id = a.resolve(id)
	s := string(id)
	if p.Room != "" { // a guest sees only its room
		return strings.HasPrefix(s, "room/"+p.Room+"/")
	}
	if strings.HasPrefix(s, "room/") {
		return true // room membership is checked by the rooms area
	}
	if !p.Is(videoRoles...) {
		return false
	}
	if ch, ok := strings.CutPrefix(s, "gb/"); ok {
		if a.channelRegion == nil {
			return p.Region == ""
		}
		region, known := a.channelRegion(ch)
		return known && p.InScope(region)
	}
	return true
}

// rtspAuth checks RTSP credentials: a user's password, or a login token or
// API key given as the password.
type rtspAuth struct {
	auth   *auth.Service
	access *streamAccess
}

func (r rtspAuth) AuthorizeRTSP(ctx context.Context, user, pass string, id media.StreamID, publish bool) error {
	p, err := r.auth.Authenticate(ctx, pass)
	if err != nil {
		tok, _, lerr := r.auth.Login(ctx, user, pass, "rtsp")
		if lerr != nil {
			return fmt.Errorf("rtsp login %q: %w", user, lerr)
		}
		if p, err = r.auth.Authenticate(ctx, tok); err != nil {
			return fmt.Errorf("rtsp login %q: %w", user, err)
		}
	}
	if publish {
		if !p.Is(publishRoles...) || strings.HasPrefix(string(id), "gb/") || strings.HasPrefix(string(id), "rtsp/") {
			return fmt.Errorf("%w: %s may not publish %s", rtsp.ErrForbidden, p.Username, id)
		}
		return nil
	}
	if !r.access.CanRead(p, id) {
		return fmt.Errorf("%w: %s may not read %s", rtsp.ErrForbidden, p.Username, id)
	}
	return nil
}
