package signaling

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"pingan/internal/auth"
)

// DeviceService is what DevicesAPI needs from the GB28181 gateway.
// internal/hub adapts gateway/gb28181.Server to it (signaling never
// imports gateway). Errors wrap ErrNoDevice, ErrDeviceInvalid,
// ErrDeviceOffline or ErrDeviceTimeout where they apply; store errors
// pass through.
type DeviceService interface {
	Devices(ctx context.Context) ([]DeviceInfo, error)
	Device(ctx context.Context, id string) (DeviceInfo, error)
	Channels(ctx context.Context, deviceID string) ([]ChannelInfo, error)
	Channel(ctx context.Context, channelID string) (ChannelInfo, error)
	RefreshCatalog(ctx context.Context, id string) (CatalogSummary, error)
	UpdateDevice(ctx context.Context, id string, p DevicePatch) (DeviceInfo, error)
	DeleteDevice(ctx context.Context, id string) error
	PTZ(ctx context.Context, channelID, action string, speed int) error
	Preset(ctx context.Context, channelID, action string, index int) error
}

// Errors a DeviceService wraps; DevicesAPI maps them to HTTP statuses.
var (
	ErrNoDevice      = errors.New("no such device or channel")     // 404
	ErrDeviceInvalid = errors.New("invalid device request")        // 400
	ErrDeviceOffline = errors.New("device offline")                // 409
	ErrDeviceTimeout = errors.New("device did not answer in time") // 504
)

// DeviceInfo is a GB28181 device as the API shows it (never its password).
type DeviceInfo struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	Manufacturer  string    `json:"manufacturer,omitempty"`
	Model         string    `json:"model,omitempty"`
	Firmware      string    `json:"firmware,omitempty"`
	Online        bool      `json:"online"`
	Transport     string    `json:"transport"`
	SIPTransport  string    `json:"sip_transport"`
	RemoteAddress string    `json:"remote_address"`
	RegisteredAt  time.Time `json:"registered_at,omitzero"`
	LastKeepalive time.Time `json:"last_keepalive,omitzero"`
	Expires       int       `json:"expires"`
	ChannelCount  int       `json:"channel_count"`
	Region        string    `json:"region"`
	Charset       string    `json:"charset,omitempty"`
	HasPassword   bool      `json:"has_password"`
}

// ChannelInfo is one channel of a device.
type ChannelInfo struct {
	ID           string  `json:"id"`
	DeviceID     string  `json:"device_id"`
	Name         string  `json:"name"`
	Manufacturer string  `json:"manufacturer,omitempty"`
	Model        string  `json:"model,omitempty"`
	Online       bool    `json:"online"`
	Longitude    float64 `json:"longitude"`
	Latitude     float64 `json:"latitude"`
	CivilCode    string  `json:"civil_code"`
	Region       string  `json:"region"`
	PTZType      int     `json:"ptz_type,omitempty"`
	ParentID     string  `json:"parent_id,omitempty"`
	StreamID     string  `json:"stream_id"`
}

// CatalogSummary is the result of a catalog refresh.
type CatalogSummary struct {
	SumNum   int  `json:"sum_num"`
	Received int  `json:"received"`
	Complete bool `json:"complete"`
	Channels int  `json:"channels"`
	Changed  int  `json:"changed"`
}

// DevicePatch is the body of PATCH /api/v1/devices/{id}; absent fields stay.
type DevicePatch struct {
	Name      *string `json:"name,omitempty"`
	Transport *string `json:"transport,omitempty"` // udp, tcp-passive, tcp-active
	Password  *string `json:"password,omitempty"`  // "" = use sip.password
	Charset   *string `json:"charset,omitempty"`   // GB2312, GB18030, UTF-8
}

// deviceAuditor records security-relevant actions (*auth.Service).
type deviceAuditor interface {
	Audit(ctx context.Context, e auth.Entry) error
}

// DevicesAPI serves the GB28181 device registry, catalog refresh and PTZ.
// Every device and channel is filtered by the caller's region scope: out of
// scope is 404, as if it did not exist.
type DevicesAPI struct {
	svc DeviceService
	// Audit, when set, records device changes and PTZ (DESIGN decision 13).
	Audit deviceAuditor
	// Timeout bounds each call into the gateway (catalog refresh waits for
	// every page). Default 30s.
	Timeout time.Duration
}

// NewDevicesAPI builds the devices API on svc.
func NewDevicesAPI(svc DeviceService) *DevicesAPI { return &DevicesAPI{svc: svc} }

// defaultPTZSpeed is used when a PTZ request has no speed.
const defaultPTZSpeed = 0x80

// Routes registers the endpoints.
func (a *DevicesAPI) Routes(rt *Router) {
	viewers := []auth.Role{auth.RoleAdmin, auth.RoleOperator, auth.RoleLeader, auth.RoleMediator, auth.RoleIntegration}
	steer := []auth.Role{auth.RoleAdmin, auth.RoleOperator, auth.RoleLeader}
	rt.Handle("GET /api/v1/devices", a.list, viewers...)
	rt.Handle("GET /api/v1/devices/{id}", a.get, viewers...)
	rt.Handle("GET /api/v1/devices/{id}/channels", a.channels, viewers...)
	rt.Handle("POST /api/v1/devices/{id}/catalog", a.refresh, auth.RoleAdmin, auth.RoleOperator)
	rt.Handle("PATCH /api/v1/devices/{id}", a.update, auth.RoleAdmin)
	rt.Handle("DELETE /api/v1/devices/{id}", a.remove, auth.RoleAdmin)
	rt.Handle("POST /api/v1/devices/{id}/channels/{ch}/ptz", a.ptz, steer...)
	rt.Handle("POST /api/v1/devices/{id}/channels/{ch}/presets", a.preset, steer...)
}

func (a *DevicesAPI) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	t := a.Timeout
	if t <= 0 {
		t = 30 * time.Second
	}
	return context.WithTimeout(r.Context(), t)
}

func (a *DevicesAPI) list(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := a.ctx(r)
	defer cancel()
	all, err := a.svc.Devices(ctx)
	if err != nil {
		WriteError(w, r, deviceError(err))
		return
	}
	p := caller(r)
	out := make([]DeviceInfo, 0, len(all))
	for _, d := range all {
		if p.InScope(d.Region) {
			out = append(out, d)
		}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"devices": out})
}

// device loads the {id} device, 404 when absent or out of scope.
func (a *DevicesAPI) device(ctx context.Context, r *http.Request) (DeviceInfo, error) {
	d, err := a.svc.Device(ctx, r.PathValue("id"))
	if err != nil {
		return DeviceInfo{}, deviceError(err)
	}
	if !caller(r).InScope(d.Region) {
		return DeviceInfo{}, ErrNotFound
	}
	return d, nil
}

func (a *DevicesAPI) get(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := a.ctx(r)
	defer cancel()
	d, err := a.device(ctx, r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, d)
}

func (a *DevicesAPI) channels(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := a.ctx(r)
	defer cancel()
	d, err := a.device(ctx, r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	all, err := a.svc.Channels(ctx, d.ID)
	if err != nil {
		WriteError(w, r, deviceError(err))
		return
	}
	p := caller(r)
	out := make([]ChannelInfo, 0, len(all))
	for _, c := range all {
		if p.InScope(c.Region) {
			out = append(out, c)
		}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"channels": out})
}

func (a *DevicesAPI) refresh(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := a.ctx(r)
	defer cancel()
	d, err := a.device(ctx, r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	res, err := a.svc.RefreshCatalog(ctx, d.ID)
	if err != nil {
		WriteError(w, r, deviceError(err))
		return
	}
	WriteJSON(w, http.StatusOK, res)
}

func (a *DevicesAPI) update(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := a.ctx(r)
	defer cancel()
	var p DevicePatch
	if err := DecodeJSON(r, &p); err != nil {
		WriteError(w, r, err)
		return
	}
	d, err := a.device(ctx, r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	d, err = a.svc.UpdateDevice(ctx, d.ID, p)
	if err != nil {
		WriteError(w, r, deviceError(err))
		return
	}
	a.audit(r, "device.update", d.ID, d.Region, patchFields(p))
	WriteJSON(w, http.StatusOK, d)
}

// patchFields names the changed fields for the audit log (never values of secrets).
func patchFields(p DevicePatch) string {
	s := ""
	add := func(set bool, name string) {
		if set {
			if s != "" {
				s += ","
			}
			s += name
		}
	}
	add(p.Name != nil, "name")
	add(p.Transport != nil, "transport")
	add(p.Password != nil, "password")
	add(p.Charset != nil, "charset")
	return s
}

func (a *DevicesAPI) remove(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := a.ctx(r)
	defer cancel()
	d, err := a.device(ctx, r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if err := a.svc.DeleteDevice(ctx, d.ID); err != nil {
		WriteError(w, r, deviceError(err))
		return
	}
	a.audit(r, "device.delete", d.ID, d.Region, "")
	w.WriteHeader(http.StatusNoContent)
}

// channel loads {ch} of device {id}, 404 when absent, of another device, or out of scope.
func (a *DevicesAPI) channel(ctx context.Context, r *http.Request) (ChannelInfo, error) {
	d, err := a.device(ctx, r)
	if err != nil {
		return ChannelInfo{}, err
	}
	c, err := a.svc.Channel(ctx, r.PathValue("ch"))
	if err != nil {
		return ChannelInfo{}, deviceError(err)
	}
	if c.DeviceID != d.ID || !caller(r).InScope(c.Region) {
		return ChannelInfo{}, ErrNotFound
	}
	return c, nil
}

type ptzRequest struct {
	Action string `json:"action"`
	Speed  *int   `json:"speed,omitempty"`
}

func (a *DevicesAPI) ptz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := a.ctx(r)
	defer cancel()
	var req ptzRequest
	if err := DecodeJSON(r, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	speed := defaultPTZSpeed
	if req.Speed != nil {
		speed = *req.Speed
	}
	if speed < 0 || speed > 255 {
		WriteError(w, r, Errorf(http.StatusBadRequest, "invalid", "speed must be 0-255, got %d", speed))
		return
	}
	c, err := a.channel(ctx, r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if err := a.svc.PTZ(ctx, c.ID, req.Action, speed); err != nil {
		WriteError(w, r, deviceError(err))
		return
	}
	a.audit(r, "device.ptz", c.ID, c.Region, fmt.Sprintf("%s speed=%d", req.Action, speed))
	w.WriteHeader(http.StatusNoContent)
}

type presetRequest struct {
	Action string `json:"action"`
	Index  int    `json:"index"`
}

func (a *DevicesAPI) preset(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := a.ctx(r)
	defer cancel()
	var req presetRequest
	if err := DecodeJSON(r, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	switch req.Action {
	case "set", "goto", "remove":
	default:
		WriteError(w, r, Errorf(http.StatusBadRequest, "invalid", "action must be set, goto or remove, got %q", req.Action))
		return
	}
	if req.Index < 1 || req.Index > 255 {
		WriteError(w, r, Errorf(http.StatusBadRequest, "invalid", "index must be 1-255, got %d", req.Index))
		return
	}
	c, err := a.channel(ctx, r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if err := a.svc.Preset(ctx, c.ID, req.Action, req.Index); err != nil {
		WriteError(w, r, deviceError(err))
		return
	}
	a.audit(r, "device.preset", c.ID, c.Region, fmt.Sprintf("%s %d", req.Action, req.Index))
	w.WriteHeader(http.StatusNoContent)
}

func (a *DevicesAPI) audit(r *http.Request, action, target, region, detail string) {
	if a.Audit == nil {
		return
	}
	e := auth.Entry{
		Time: time.Now().UTC(), Actor: caller(r).Username, Action: action,
		Target: target, Region: region, Source: r.RemoteAddr, Detail: detail,
	}
	if err := a.Audit.Audit(r.Context(), e); err != nil {
		slog.Default().Warn("audit entry not written", "action", action, "target", target, "err", err)
	}
}

// deviceError maps gateway errors to API errors.
func deviceError(err error) error {
	switch {
	case errors.Is(err, ErrNoDevice):
		return ErrNotFound
	case errors.Is(err, ErrDeviceInvalid):
		return Errorf(http.StatusBadRequest, "invalid", "%v", err)
	case errors.Is(err, ErrDeviceOffline):
		return Errorf(http.StatusConflict, "device_offline", "the device is offline")
	case errors.Is(err, ErrDeviceTimeout):
		return Errorf(http.StatusGatewayTimeout, "device_timeout", "the device did not answer in time")
	}
	return StoreError(err)
}
