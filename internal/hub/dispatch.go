package hub

import (
	"context"
	"errors"
	"fmt"

	"pingan/dispatch"
	"pingan/gateway/gb28181"
	"pingan/internal/auth"
	"pingan/signaling"
)

// buildDispatch builds the dispatch service on the store (the center's
// zone, the real clock), wires nearby-camera lookups to the GB28181
// registry and adds the deadline scheduler as a runner. It needs h.store
// and h.gb, and must run before the WebSocket hub is built: the hub's
// event log is dispatch's (signaling.NewDispatchEventLog).
func (h *Hub) buildDispatch(_ context.Context) (*dispatch.Service, error) {
	svc, err := dispatch.New(h.store, h.cfg.Dispatch, h.loc, dispatch.RealClock{}, h.log.With("part", "dispatch"))
	if err != nil {
		return nil, fmt.Errorf("dispatch: %w", err)
	}
	if h.gb != nil {
		svc.SetCameraLocator(gbCameras{gb: h.gb})
	}
	h.addRunner("dispatch", svc.Run)
	return svc, nil
}

// dispatchRoutes registers cases, incidents, departments, intake,
// statistics and the event log of svc on rt.
func (h *Hub) dispatchRoutes(rt *signaling.Router, svc *dispatch.Service) {
	cases := signaling.NewCasesAPI(svc)
	cases.PublicURL = h.cfg.HTTP.PublicURL
	cases.Audit = h.auth
	cases.Routes(rt)
	// Case types: editable in the admin pages, seeded from dispatch.case_types.
	caseTypes := signaling.NewCaseTypesAPI(svc)
	caseTypes.Audit = h.auth
	caseTypes.Routes(rt)
	signaling.NewIncidentsAPI(svc).Routes(rt)
	signaling.NewDepartmentsAPI(svc).Routes(rt)
	signaling.NewIntakeAPI(svc).Routes(rt)
	stats := signaling.NewStatsAPI(svc)
	stats.Location = h.loc
	stats.Routes(rt)
	signaling.NewEventsAPI(svc).Routes(rt)
}

// gbCameras is dispatch's CameraLocator over the GB28181 device registry:
// every channel with coordinates inside the region.
type gbCameras struct {
	gb *gb28181.Server
}

var _ dispatch.CameraLocator = gbCameras{}

// Cameras lists the channels of every registered device that lie in region
// and have coordinates; parental nodes (groups, not cameras) are skipped.
func (c gbCameras) Cameras(ctx context.Context, region string) ([]dispatch.Camera, error) {
	devs, err := c.gb.Devices(ctx)
	if err != nil {
		return nil, fmt.Errorf("devices: %w", err)
	}
	var out []dispatch.Camera
	for _, d := range devs {
		chs, err := c.gb.Channels(ctx, d.ID)
		if errors.Is(err, gb28181.ErrDeviceNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("channels of %s: %w", d.ID, err)
		}
		for _, ch := range chs {
			if ch.Parental || !auth.InScope(region, ch.Region) || (ch.Latitude == 0 && ch.Longitude == 0) {
				continue
			}
			out = append(out, dispatch.Camera{ID: string(ch.ID), Name: ch.Name, StreamID: ch.StreamID,
				Lat: ch.Latitude, Lon: ch.Longitude, Region: ch.Region, Online: ch.Online})
		}
	}
	return out, nil
}
