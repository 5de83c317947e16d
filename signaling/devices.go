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
	// CreateDevice adds a device before it first registers. allowed is
	// asked with the region the device id implies before anything is
	// written. It fails with ErrDeviceExists when the id is known.
	CreateDevice(ctx context.Context, nd NewDevice, allowed func(region string) bool) (DeviceInfo, error)
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
	ErrDeviceExists  = errors.New("device already exists")         // 409
	ErrDeviceScope   = errors.New("device outside your region")    // 403
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

// NewDevice is the body of POST /api/v1/devices: a camera or NVR the
// administrator enters before it is installed, usually with its own digest
// password (so it may register even when sip.password is empty).
type NewDevice struct {
	ID        string `json:"id"`                  // 20-digit GB28181 id
	Name      string `json:"name,omitempty"`      // shown until the device reports its own
	Password  string `json:"password,omitempty"`  // "" = use sip.password
	Transport string `json:"transport,omitempty"` // udp, tcp-passive, tcp-active; "" = media.default_transport
	Charset   string `json:"charset,omitempty"`   // GB2312, GB18030, UTF-8; "" = detect
}

// Patch is nd's optional settings as a DevicePatch (only those given).
func (nd NewDevice) Patch() DevicePatch {
	given := func(v string) *string {
		if v == "" {
			return nil
		}
		return &v
	}
	return DevicePatch{Name: given(nd.Name), Transport: given(nd.Transport), Password: given(nd.Password), Charset: given(nd.Charset)}
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
	rt.Handle("POST /api/v1/devices", a.create, auth.RoleAdmin)
	rt.Handle("GET /api/v1/devices/{id}", a.onDevice(a.get), viewers...)
	rt.Handle("GET /api/v1/devices/{id}/channels", a.onDevice(a.channels), viewers...)
	rt.Handle("POST /api/v1/devices/{id}/catalog", a.onDevice(a.refresh), auth.RoleAdmin, auth.RoleOperator)
	rt.Handle("PATCH /api/v1/devices/{id}", a.update, auth.RoleAdmin)
	rt.Handle("DELETE /api/v1/devices/{id}", a.onDevice(a.remove), auth.RoleAdmin)
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

// onDevice runs fn on the {id} device (404 when absent or out of scope)
// with a bounded context, and writes fn's error if it returns one.
func (a *DevicesAPI) onDevice(fn func(ctx context.Context, w http.ResponseWriter, r *http.Request, d DeviceInfo) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := a.ctx(r)
		defer cancel()
		d, err := a.device(ctx, r)
		if err == nil {
			err = fn(ctx, w, r, d)
		}
		if err != nil {
			WriteError(w, r, err)
		}
	}
}

func (a *DevicesAPI) get(_ context.Context, w http.ResponseWriter, _ *http.Request, d DeviceInfo) error {
	WriteJSON(w, http.StatusOK, d)
	return nil
}

func (a *DevicesAPI) create(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := a.ctx(r)
	defer cancel()
	var nd NewDevice
	if err := DecodeJSON(r, &nd); err != nil {
		WriteError(w, r, err)
		return
	}
	if len(nd.Name) > 200 || len(nd.Password) > 128 {
		WriteError(w, r, Errorf(http.StatusBadRequest, "invalid", "name is limited to 200 bytes and password to 128"))
		return
	}
	p := caller(r)
	d, err := a.svc.CreateDevice(ctx, nd, p.InScope)
	if err != nil {
		WriteError(w, r, deviceError(err))
		return
	}
	a.audit(r, "device.create", d.ID, d.Region, patchFields(nd.Patch()))
	w.Header().Set("Location", "/api/v1/devices/"+d.ID)
	WriteJSON(w, http.StatusCreated, d)
}

func (a *DevicesAPI) channels(ctx context.Context, w http.ResponseWriter, r *http.Request, d DeviceInfo) error {
	all, err := a.svc.Channels(ctx, d.ID)
	if err != nil {
		return deviceError(err)
	}
	p := caller(r)
	out := make([]ChannelInfo, 0, len(all))
	for _, c := range all {
		if p.InScope(c.Region) {
			out = append(out, c)
		}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"channels": out})
	return nil
}

func (a *DevicesAPI) refresh(ctx context.Context, w http.ResponseWriter, _ *http.Request, d DeviceInfo) error {
	res, err := a.svc.RefreshCatalog(ctx, d.ID)
	if err != nil {
		return deviceError(err)
	}
	WriteJSON(w, http.StatusOK, res)
	return nil
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

func (a *DevicesAPI) remove(ctx context.Context, w http.ResponseWriter, r *http.Request, d DeviceInfo) error {
	if err := a.svc.DeleteDevice(ctx, d.ID); err != nil {
		return deviceError(err)
	}
	a.audit(r, "device.delete", d.ID, d.Region, "")
	w.WriteHeader(http.StatusNoContent)
	return nil
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
	case errors.Is(err, ErrDeviceExists):
		return Errorf(http.StatusConflict, "exists", "a device with this id already exists")
	case errors.Is(err, ErrDeviceScope):
		return Errorf(http.StatusForbidden, "out_of_scope", "%v", err)
	}
	return StoreError(err)
}
