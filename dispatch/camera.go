package dispatch

import (
	"context"
	"fmt"
	"math"
	"sort"

	"pingan/internal/auth"
)

// Camera is a channel with coordinates, as the device registry knows it.
type Camera struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	StreamID string  `json:"stream_id"`
	Lat      float64 `json:"lat"`
	Lon      float64 `json:"lon"`
	Region   string  `json:"region"`
	Online   bool    `json:"online"`
}

// NearbyCamera is a camera with its distance from an incident, in meters.
type NearbyCamera struct {
	Camera
	Distance float64 `json:"distance"`
}

// CameraLocator lists cameras of a region; the hub wires it to the device
// registry (consumer-side interface: dispatch never imports gateway).
type CameraLocator interface {
	Cameras(ctx context.Context, region string) ([]Camera, error)
}

// MaxRadius bounds NearbyCameras' radius, in meters.
const MaxRadius = 50000

// NearbyCameras lists the cameras within radius meters of the incident's
// location, nearest first. Cameras are asked for by the incident's county
// (its first 6 region digits) and filtered by the caller's scope.
func (s *Service) NearbyCameras(ctx context.Context, p auth.Principal, id IncidentID, radius float64) ([]NearbyCamera, error) {
	if !(radius > 0 && radius <= MaxRadius) {
		return nil, invalid("radius", "want 1 to %d meters", MaxRadius)
	}
	in, err := s.Incident(ctx, p, id)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	loc := s.cameras
	s.mu.RUnlock()
	if loc == nil {
		return nil, ErrNoCameraLocator
	}
	region := in.Region
	if len(region) > 6 {
		region = region[:6]
	}
	cams, err := loc.Cameras(ctx, region)
	if err != nil {
		return nil, fmt.Errorf("dispatch: cameras of %s: %w", region, err)
	}
	out := []NearbyCamera{}
	for _, c := range cams {
		if !p.InScope(c.Region) {
			continue
		}
		if d := Haversine(in.Location.Lat, in.Location.Lon, c.Lat, c.Lon); d <= radius {
			out = append(out, NearbyCamera{Camera: c, Distance: math.Round(d*10) / 10})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Distance < out[j].Distance })
	return out, nil
}

// Haversine is the great-circle distance in meters between two WGS-84 points.
func Haversine(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371008.8 // mean Earth radius, m
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Sqrt(math.Min(1, a)))
}
