package gb28181

import (
	"context"
	"fmt"
	"sync"
	"time"

	"pingan/gateway/gb28181/manscdp"
)

// CatalogResult summarises one catalog query.
type CatalogResult struct {
	SumNum   int  `json:"sum_num"`  // items the device announced
	Received int  `json:"received"` // distinct items that arrived
	Complete bool `json:"complete"` // Received reached SumNum
	Channels int  `json:"channels"` // channels stored after the sync
	Changed  int  `json:"changed"`  // channels added, updated or removed
}

// catalogGather collects the pages of one catalog response: out of order,
// duplicated, one item per MESSAGE — until SumNum distinct items arrived
// (GB/T 28181-2016 §9.5.2; digest §6).
type catalogGather struct {
	mu     sync.Mutex
	items  []manscdp.CatalogItem
	seen   map[string]bool
	sumNum int
	pages  int
	signal chan struct{} // one slot: "a page arrived"
}

func newCatalogGather() *catalogGather {
	return &catalogGather{seen: make(map[string]bool), signal: make(chan struct{}, 1)}
}

func (g *catalogGather) deliver(m *manscdp.Message) {
	c := m.Catalog()
	g.mu.Lock()
	g.pages++
	if c.SumNum > g.sumNum {
		g.sumNum = c.SumNum
	}
	for _, it := range c.Items {
		if it.DeviceID == "" || g.seen[it.DeviceID] {
			continue
		}
		g.seen[it.DeviceID] = true
		g.items = append(g.items, it)
	}
	g.mu.Unlock()
	select {
	case g.signal <- struct{}{}:
	default:
	}
}

// state returns the pages seen and whether SumNum distinct items arrived.
func (g *catalogGather) state() (pages int, complete bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.pages, g.pages > 0 && len(g.items) >= g.sumNum
}

func (g *catalogGather) result() ([]manscdp.CatalogItem, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]manscdp.CatalogItem(nil), g.items...), g.sumNum
}

// Catalog queries a device's catalog and stores it: a complete answer
// replaces the device's channel set, a partial one (CatalogTimeout of
// silence before SumNum items) only adds and updates.
func (s *Server) Catalog(ctx context.Context, deviceID DeviceID) (CatalogResult, error) {
	dev, _, err := s.reg.device(ctx, deviceID)
	if err != nil {
		return CatalogResult{}, err
	}
	sn := s.nextSN()
	body, err := s.Marshal(dev, manscdp.Query(manscdp.CmdCatalog, sn, string(deviceID)))
	if err != nil {
		return CatalogResult{}, err
	}
	g := newCatalogGather()
	k := waitKey{dev: deviceID, cmd: manscdp.CmdCatalog, sn: sn}
	s.wait.add(k, g)
	defer s.wait.remove(k)
	sendCtx, cancel := context.WithTimeout(ctx, s.cfg.QueryTimeout)
	err = s.sendMessage(sendCtx, dev, body)
	cancel()
	if err != nil {
		return CatalogResult{}, err
	}
	if err := s.gather(ctx, g); err != nil {
		return CatalogResult{}, fmt.Errorf("catalog of %s: %w", deviceID, err)
	}
	items, sum := g.result()
	_, complete := g.state()
	res := CatalogResult{SumNum: sum, Received: len(items), Complete: complete}
	n, changed, err := s.storeCatalog(ctx, dev, items, complete)
	if err != nil {
		return res, err
	}
	res.Channels, res.Changed = n, changed
	s.log.Info("catalog synced", "device", deviceID, "sum_num", sum, "received", len(items), "complete", complete, "channels", n, "changed", changed)
	return res, nil
}

// gather waits until g is complete or CatalogTimeout passes without a page.
func (s *Server) gather(ctx context.Context, g *catalogGather) error {
	silence := s.cfg.SIP.CatalogTimeout.D()
	t := time.NewTimer(silence)
	defer t.Stop()
	for {
		select {
		case <-g.signal:
			if _, done := g.state(); done {
				return nil
			}
			t.Reset(silence)
		case <-t.C:
			if pages, _ := g.state(); pages == 0 {
				return ErrTimeout
			}
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// storeCatalog turns items into channels and writes the difference. It
// returns the channel count and how many channels changed.
func (s *Server) storeCatalog(ctx context.Context, dev Device, items []manscdp.CatalogItem, complete bool) (int, int, error) {
	old, err := s.reg.channels(ctx, dev.ID)
	if err != nil {
		return 0, 0, err
	}
	have := make(map[DeviceID]Channel, len(old))
	for _, c := range old {
		have[c.ID] = c
	}
	var delta channelDelta
	keep := make(map[DeviceID]bool)
	for _, it := range items {
		c, ok := channelFromItem(dev, it)
		if !ok {
			continue
		}
		keep[c.ID] = true
		if prev, ok := have[c.ID]; !ok || !prev.sameAs(c) {
			delta.put = append(delta.put, c)
		}
	}
	count := len(keep)
	if complete {
		for id := range have {
			if !keep[id] {
				delta.del = append(delta.del, id)
			}
		}
	} else {
		for id := range have {
			if !keep[id] {
				count++
			}
		}
	}
	if delta.empty() && !complete {
		return count, 0, nil
	}
	var synced time.Time
	if complete {
		synced = s.clock.Now()
	}
	if err := s.reg.applyChannels(ctx, dev.ID, delta, func(int) int { return count }, synced); err != nil {
		return 0, 0, err
	}
	changed := len(delta.put) + len(delta.del)
	if changed > 0 {
		s.publish(EventCatalogChanged, dev, "", delta.ids())
	}
	return count, changed, nil
}

// ids lists the channels a delta touches (at most 100, for events).
func (d channelDelta) ids() []DeviceID {
	out := make([]DeviceID, 0, min(100, len(d.put)+len(d.del)))
	for _, c := range d.put {
		if len(out) == cap(out) {
			return out
		}
		out = append(out, c.ID)
	}
	for _, id := range d.del {
		if len(out) == cap(out) {
			return out
		}
		out = append(out, id)
	}
	return out
}

// channelFromItem maps a catalog item to a channel. Items that are not
// channels are skipped: the device itself (unless it is a camera),
// administrative regions (2–8
// digit ids), platforms (type 200), business groups (215) and virtual
// organisations (216) (digest §1, §6); so are ids unsafe as keys.
func channelFromItem(dev Device, it manscdp.CatalogItem) (Channel, bool) {
	id := DeviceID(it.DeviceID)
	if !validItemID(it.DeviceID) {
		return Channel{}, false
	}
	if id == dev.ID && !(id.Type() >= "131" && id.Type() <= "199") {
		return Channel{}, false // an NVR listing itself; an IPC may be its own channel
	}
	if len(id) <= 8 && allDigits(string(id)) {
		return Channel{}, false
	}
	switch id.Type() {
	case "200", "215", "216":
		return Channel{}, false
	}
	c := Channel{
		ID:           id,
		DeviceID:     dev.ID,
		Name:         it.Name,
		Manufacturer: it.Manufacturer,
		Model:        it.Model,
		Online:       it.Status == "" || it.Online(),
		Longitude:    it.Longitude,
		Latitude:     it.Latitude,
		CivilCode:    it.CivilCode,
		PTZType:      it.PTZType,
		Parental:     it.Parental == 1,
		ParentID:     it.ParentID,
		Address:      it.Address,
		StreamID:     StreamID(id),
	}
	c.Region = regionOf(it.CivilCode, id)
	if c.Region == "" {
		c.Region = dev.Region
	}
	return c, true
}
