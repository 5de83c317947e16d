package gb28181

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/ghettovoice/gosip/sip"

	"pingan/gateway/gb28181/manscdp"
)

// subscription is one device's catalog subscription dialog.
type subscription struct {
	dlg     Dialog
	expires time.Time
	busy    bool // a refresh is in flight
}

// subscriptions tracks catalog subscriptions per device (GB/T 28181-2016
// §9.11; digest §9).
type subscriptions struct {
	mu sync.Mutex
	m  map[DeviceID]*subscription
	// next is no later than the earliest expiry of a subscription that is
	// not being refreshed (zero: unknown), so refreshSubscriptions, which
	// runs every sweep, walks the map only when one may be due: the walk
	// over 10,000 subscriptions each second was 5 % of the steady-state CPU.
	next time.Time
}

// set files sub for id.
func (s *subscriptions) set(id DeviceID, sub *subscription) {
	s.mu.Lock()
	s.m[id] = sub
	if !s.next.IsZero() && sub.expires.Before(s.next) {
		s.next = sub.expires
	}
	s.mu.Unlock()
}

func newSubscriptions() *subscriptions { return &subscriptions{m: make(map[DeviceID]*subscription)} }

func (s *subscriptions) drop(id DeviceID) {
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

func (s *subscriptions) get(id DeviceID) (subscription, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.m[id]
	if !ok {
		return subscription{}, false
	}
	return *sub, true
}

// subscribeCatalog SUBSCRIBEs to a device's catalog changes with Event:
// Catalog, or refreshes the existing dialog (same Call-ID and tags, CSeq+1).
func (s *Server) subscribeCatalog(ctx context.Context, id DeviceID) error {
	if s.cfg.SubscribeExpires < 0 {
		return nil
	}
	dev, _, err := s.reg.device(ctx, id)
	if err != nil {
		return err
	}
	old, refresh := s.subs.get(id)
	dlg := Dialog{}
	if refresh {
		dlg = old.dlg
		dlg.CSeq++
	}
	body, err := s.Marshal(dev, manscdp.Query(manscdp.CmdCatalog, s.nextSN(), string(id)))
	if err != nil {
		return err
	}
	req, err := s.NewRequest(sip.SUBSCRIBE, dev, id, ContentTypeMANSCDP, body, dlg)
	if err != nil {
		return err
	}
	secs := int(s.cfg.SubscribeExpires / time.Second)
	req.AppendHeader(&sip.GenericHeader{HeaderName: "Event", Contents: "Catalog"})
	req.AppendHeader(&sip.GenericHeader{HeaderName: "Expires", Contents: strconv.Itoa(secs)})
	if dlg.CallID == "" {
		dlg = dialogOf(req)
	}
	res, err := s.Do(ctx, req)
	if err != nil {
		s.subs.drop(id)
		return err
	}
	if to, ok := res.To(); ok && to.Params != nil {
		if tag, ok := to.Params.Get("tag"); ok && tag != nil {
			dlg.ToTag = tag.String()
		}
	}
	if hs := res.GetHeaders("Expires"); len(hs) > 0 {
		if n, err := strconv.Atoi(hs[0].Value()); err == nil && n > 0 {
			secs = n
		}
	}
	s.subs.set(id, &subscription{dlg: dlg, expires: s.clock.Now().Add(time.Duration(secs) * time.Second)})
	return nil
}

// dialogOf reads the dialog identifiers of a request we built.
func dialogOf(req sip.Request) Dialog {
	var d Dialog
	if cid, ok := req.CallID(); ok {
		d.CallID = string(*cid)
	}
	if from, ok := req.From(); ok && from.Params != nil {
		if tag, ok := from.Params.Get("tag"); ok && tag != nil {
			d.FromTag = tag.String()
		}
	}
	if cseq, ok := req.CSeq(); ok {
		d.CSeq = cseq.SeqNo
	}
	return d
}

// refreshSubscriptions renews subscriptions in their last fifth.
func (s *Server) refreshSubscriptions(now time.Time) {
	lead := s.cfg.SubscribeExpires / 5
	var due []DeviceID
	s.subs.mu.Lock()
	if !s.subs.next.IsZero() && !now.Add(lead).After(s.subs.next) {
		s.subs.mu.Unlock()
		return
	}
	next := now.Add(100 * 365 * 24 * time.Hour) // none left to wait for
	for id, sub := range s.subs.m {
		switch {
		case sub.busy:
		case now.Add(lead).After(sub.expires):
			sub.busy = true
			due = append(due, id)
		case sub.expires.Before(next):
			next = sub.expires
		}
	}
	s.subs.next = next
	s.subs.mu.Unlock()
	for _, id := range due {
		s.background(func(ctx context.Context) {
			if err := s.subscribeCatalog(ctx, id); err != nil {
				s.log.Debug("catalog subscription refresh failed", "device", id, "err", err)
			}
		})
	}
}

// applyCatalogNotify applies catalog change items: ADD and UPDATE (or no
// Event) upsert, DEL removes, ON/OFF/VLOST/DEFECT set the online flag.
func (s *Server) applyCatalogNotify(ctx context.Context, dev Device, msg *manscdp.Message) error {
	old, err := s.reg.channels(ctx, dev.ID)
	if err != nil {
		return err
	}
	have := make(map[DeviceID]Channel, len(old))
	for _, c := range old {
		have[c.ID] = c
	}
	existed := make(map[DeviceID]bool, len(old))
	for id := range have {
		existed[id] = true
	}
	var touched []DeviceID
	for _, it := range msg.Catalog().Items {
		id := DeviceID(it.DeviceID)
		prev, exists := have[id]
		switch it.Event {
		case "DEL":
			if !exists {
				continue
			}
			delete(have, id)
		case "ON", "OFF", "VLOST", "DEFECT":
			if !exists {
				continue
			}
			prev.Online = it.Event == "ON"
			have[id] = prev
		default: // ADD, UPDATE, or none
			c, ok := channelFromItem(dev, it)
			if !ok {
				continue
			}
			have[id] = c
		}
		touched = append(touched, id)
	}
	var delta channelDelta
	done := make(map[DeviceID]bool, len(touched))
	for _, id := range touched {
		if done[id] {
			continue
		}
		done[id] = true
		if c, ok := have[id]; ok {
			delta.put = append(delta.put, c)
		} else if existed[id] {
			delta.del = append(delta.del, id)
		}
	}
	if delta.empty() {
		return nil
	}
	n := len(have)
	if err := s.reg.applyChannels(ctx, dev.ID, delta, func(int) int { return n }, time.Time{}); err != nil {
		return err
	}
	s.publish(EventCatalogChanged, dev, "", delta.ids())
	return nil
}
