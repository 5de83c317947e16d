package gb28181

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"pingan/internal/store"
)

// Store keys. Values are JSON.
const (
	keyDevice       = "pingan:gb:device:"         // + device id → Device (record, CAS)
	keyChannel      = "pingan:gb:channel:"        // + device id + "/" + channel id → Channel
	keyChannelOwner = "pingan:gb:channel-owner:"  // + channel id → owning device id (plain string)
	indexDevices    = "pingan:gb:devices"         // index: every device id, score 0 (listing)
	indexDeadline   = "pingan:gb:device-deadline" // index: online device ids, score = offline deadline (unix ms)
)

// casRetries bounds compare-and-set retries on a busy record.
const casRetries = 8

// registry keeps devices and channels in the store. Device writes are
// compare-and-set; the deadline index follows the device's Online flag in
// the same atomic batch.
type registry struct {
	st       store.Store
	interval time.Duration
	missed   int

	// seen holds keepalives received here and not (yet) written: most
	// keepalives only move LastKeepalive, and writing each one durably was
	// the hub's main steady-state cost. device() merges them into what it
	// returns, so reads, updates and the sweep on this node see them.
	// Those that must reach the store soon (keepaliveDurable) are also in
	// flush; the sweep writes them together, one commit for all.
	seenMu sync.Mutex
	seen   map[DeviceID]time.Time
	flush  map[DeviceID]bool
	// flushBy is when the queued keepalives must be written (zero: none
	// queued): the earliest stored deadline among them less one keepalive
	// interval. Until then the sweep lets them accumulate, so one commit
	// carries many seconds' worth instead of one commit a second.
	flushBy time.Time

	// decoded holds the last record of each device read or written here
	// with its decoded form: a keepalive reads the record, and decoding the
	// JSON each time was a tenth of the hub's steady-state CPU. An entry
	// is used only while the stored bytes are the same, so a write by
	// another node (Redis) is never missed.
	decodedMu sync.Mutex
	decoded   map[DeviceID]decodedDevice
}

type decodedDevice struct {
	raw []byte
	dev Device
}

// decodeDevice decodes a stored device record, from the cache when the
// bytes are the ones decoded last time.
func (r *registry) decodeDevice(id DeviceID, raw []byte) (Device, error) {
	r.decodedMu.Lock()
	c, ok := r.decoded[id]
	r.decodedMu.Unlock()
	if ok && bytes.Equal(c.raw, raw) {
		return c.dev, nil
	}
	d, err := decode[Device](raw)
	if err != nil {
		return Device{}, err
	}
	r.remember(id, raw, d)
	return d, nil
}

// remember caches d as the decoded form of raw (which it keeps).
func (r *registry) remember(id DeviceID, raw []byte, d Device) {
	r.decodedMu.Lock()
	if r.decoded == nil {
		r.decoded = make(map[DeviceID]decodedDevice)
	}
	r.decoded[id] = decodedDevice{raw: raw, dev: d}
	r.decodedMu.Unlock()
}

func (r *registry) forgetDecoded(id DeviceID) {
	r.decodedMu.Lock()
	delete(r.decoded, id)
	r.decodedMu.Unlock()
}

// sawKeepalive remembers a keepalive that was not written to the store;
// a non-zero by queues it for a flushKeepalives no later than by.
func (r *registry) sawKeepalive(id DeviceID, at, by time.Time) {
	r.seenMu.Lock()
	if r.seen == nil {
		r.seen = make(map[DeviceID]time.Time)
		r.flush = make(map[DeviceID]bool)
	}
	if at.After(r.seen[id]) {
		r.seen[id] = at
	}
	if !by.IsZero() {
		r.flush[id] = true
		if r.flushBy.IsZero() || by.Before(r.flushBy) {
			r.flushBy = by
		}
	}
	r.seenMu.Unlock()
}

// flushDue writes the queued keepalives when the earliest of them is due
// (see flushBy); the sweep calls it every second.
func (r *registry) flushDue(ctx context.Context, now time.Time) {
	r.seenMu.Lock()
	due := !r.flushBy.IsZero() && !now.Before(r.flushBy)
	r.seenMu.Unlock()
	if due {
		r.flushKeepalives(ctx)
	}
}

// flushBatch bounds the devices written in one flushKeepalives batch.
const flushBatch = 512

// flushKeepalives writes the queued keepalives: each device's record with
// its latest LastKeepalive and its new deadline, many devices per atomic
// batch (one commit instead of one per keepalive). A batch that hits a
// concurrent change is redone device by device.
func (r *registry) flushKeepalives(ctx context.Context) {
	r.seenMu.Lock()
	ids := make([]DeviceID, 0, len(r.flush))
	for id := range r.flush {
		ids = append(ids, id)
	}
	clear(r.flush)
	r.flushBy = time.Time{}
	r.seenMu.Unlock()
	for len(ids) > 0 {
		n := min(len(ids), flushBatch)
		r.flushSome(ctx, ids[:n])
		ids = ids[n:]
	}
}

func (r *registry) flushSome(ctx context.Context, ids []DeviceID) {
	b := new(store.Batch)
	written := make(map[DeviceID]time.Time, len(ids))
	vals := make(map[DeviceID]decodedDevice, len(ids))
	for _, id := range ids {
		d, ver, err := r.device(ctx, id)
		if err != nil || !d.Online {
			continue // deleted or offline meanwhile: nothing to keep alive
		}
		val, err := json.Marshal(d)
		if err != nil {
			continue
		}
		b.Put(deviceKey(id), val, ver).IndexAdd(indexDeadline, string(id), unixMs(d.deadline(r.interval, r.missed)))
		written[id] = d.LastKeepalive
		vals[id] = decodedDevice{raw: val, dev: d}
	}
	if len(written) == 0 {
		return
	}
	if _, err := r.st.Apply(ctx, b); err == nil {
		for id, t := range written {
			r.forgetSeen(id, t)
			r.remember(id, vals[id].raw, vals[id].dev)
		}
		return
	}
	for id := range written { // a conflict (or a failure): one at a time
		_, _, _ = r.update(ctx, id, func(d *Device, exists bool) error {
			if !exists || !d.Online {
				return errSkip
			}
			return nil
		})
	}
}

// lastSeen is the latest unwritten keepalive of id (zero if none).
func (r *registry) lastSeen(id DeviceID) time.Time {
	r.seenMu.Lock()
	defer r.seenMu.Unlock()
	return r.seen[id]
}

// forgetSeen drops the unwritten keepalive of id once a write carried it
// (upTo zero: in any case, the device was deleted).
func (r *registry) forgetSeen(id DeviceID, upTo time.Time) {
	r.seenMu.Lock()
	if t, ok := r.seen[id]; ok && (upTo.IsZero() || !t.After(upTo)) {
		delete(r.seen, id)
	}
	r.seenMu.Unlock()
}

// keepaliveDurable reports by when a keepalive at now must be written even
// though it changes nothing but LastKeepalive (zero: it need not be): once
// the stored deadline comes within 1.5 keepalive intervals, the write is
// due one interval before that deadline. Until then the stored record
// keeps the device online on every node (the deadline index is shared), so
// with the default 3 missed keepalives about every other keepalive is
// written, up to half an interval late, in a batch with the others.
func (r *registry) keepaliveDurable(stored Device, now time.Time) time.Time {
	iv := r.interval
	if stored.KeepaliveInterval > 0 {
		iv = time.Duration(stored.KeepaliveInterval) * time.Second
	}
	deadline := stored.deadline(r.interval, r.missed)
	if deadline.Sub(now) >= iv+iv/2 {
		return time.Time{}
	}
	return deadline.Add(-iv)
}

func deviceKey(id DeviceID) string       { return keyDevice + string(id) }
func channelPrefix(dev DeviceID) string  { return keyChannel + string(dev) + "/" }
func channelKey(dev, ch DeviceID) string { return channelPrefix(dev) + string(ch) }
func ownerKey(ch DeviceID) string        { return keyChannelOwner + string(ch) }
func unixMs(t time.Time) float64         { return float64(t.UnixMilli()) }
func isNotFound(err error) bool          { return errors.Is(err, store.ErrNotFound) }
func decode[T any](b []byte) (T, error)  { var v T; err := json.Unmarshal(b, &v); return v, err }

// device loads a device and its record version.
func (r *registry) device(ctx context.Context, id DeviceID) (Device, uint64, error) {
	rec, err := r.st.Get(ctx, deviceKey(id))
	if isNotFound(err) {
		return Device{}, 0, fmt.Errorf("%w: %s", ErrDeviceNotFound, id)
	}
	if err != nil {
		return Device{}, 0, fmt.Errorf("get device %s: %w", id, err)
	}
	d, err := r.decodeDevice(id, rec.Value)
	if err != nil {
		return Device{}, 0, fmt.Errorf("decode device %s: %w", id, err)
	}
	if t := r.lastSeen(id); t.After(d.LastKeepalive) {
		d.LastKeepalive = t
	}
	return d, rec.Version, nil
}

// stored loads a device as the store has it, without unwritten keepalives.
func (r *registry) stored(ctx context.Context, id DeviceID) (Device, error) {
	rec, err := r.st.Get(ctx, deviceKey(id))
	if isNotFound(err) {
		return Device{}, fmt.Errorf("%w: %s", ErrDeviceNotFound, id)
	}
	if err != nil {
		return Device{}, fmt.Errorf("get device %s: %w", id, err)
	}
	d, err := r.decodeDevice(id, rec.Value)
	if err != nil {
		return Device{}, fmt.Errorf("decode device %s: %w", id, err)
	}
	return d, nil
}

// update applies fn to the device (a zero Device with ID set when absent,
// exists=false) and writes the result with a version check, retrying on
// conflict. fn returning errSkip leaves the record as is. It returns the
// device before and after.
func (r *registry) update(ctx context.Context, id DeviceID, fn func(d *Device, exists bool) error) (before, after Device, err error) {
	for range casRetries {
		d, ver, err := r.device(ctx, id)
		exists := err == nil
		if err != nil && !errors.Is(err, ErrDeviceNotFound) {
			return Device{}, Device{}, err
		}
		if !exists {
			d = Device{ID: id}
		}
		before = d
		after = d
		if err := fn(&after, exists); err != nil {
			if errors.Is(err, errSkip) {
				return before, before, nil
			}
			return before, before, err
		}
		val, err := json.Marshal(after)
		if err != nil {
			return before, before, fmt.Errorf("encode device %s: %w", id, err)
		}
		b := new(store.Batch).Put(deviceKey(id), val, ver).IndexAdd(indexDevices, string(id), 0)
		if after.Online {
			b.IndexAdd(indexDeadline, string(id), unixMs(after.deadline(r.interval, r.missed)))
		} else {
			b.IndexRemove(indexDeadline, string(id))
		}
		_, err = r.st.Apply(ctx, b)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return before, before, fmt.Errorf("save device %s: %w", id, err)
		}
		r.forgetSeen(id, after.LastKeepalive)
		r.remember(id, val, after)
		return before, after, nil
	}
	return Device{}, Device{}, fmt.Errorf("save device %s: %w", id, store.ErrConflict)
}

// errSkip from an update func means "no change".
var errSkip = errors.New("skip")

// devices lists every device in id order.
func (r *registry) devices(ctx context.Context) ([]Device, error) {
	ents, err := r.st.IndexRange(ctx, indexDevices, store.Range{Min: 0, Max: 0})
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	out := make([]Device, 0, len(ents))
	for _, e := range ents {
		d, _, err := r.device(ctx, DeviceID(e.Member))
		if errors.Is(err, ErrDeviceNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// channels lists a device's channels in id order.
func (r *registry) channels(ctx context.Context, dev DeviceID) ([]Channel, error) {
	recs, err := r.st.Scan(ctx, channelPrefix(dev), "", 0)
	if err != nil {
		return nil, fmt.Errorf("list channels of %s: %w", dev, err)
	}
	out := make([]Channel, 0, len(recs))
	for _, rec := range recs {
		c, err := decode[Channel](rec.Value)
		if err != nil {
			return nil, fmt.Errorf("decode channel %s: %w", rec.Key, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// channel finds a channel by id through its owner record.
func (r *registry) channel(ctx context.Context, ch DeviceID) (Channel, error) {
	rec, err := r.st.Get(ctx, ownerKey(ch))
	if isNotFound(err) {
		return Channel{}, fmt.Errorf("%w: %s", ErrChannelNotFound, ch)
	}
	if err != nil {
		return Channel{}, fmt.Errorf("get channel owner %s: %w", ch, err)
	}
	rec, err = r.st.Get(ctx, channelKey(DeviceID(rec.Value), ch))
	if isNotFound(err) {
		return Channel{}, fmt.Errorf("%w: %s", ErrChannelNotFound, ch)
	}
	if err != nil {
		return Channel{}, fmt.Errorf("get channel %s: %w", ch, err)
	}
	c, err := decode[Channel](rec.Value)
	if err != nil {
		return Channel{}, fmt.Errorf("decode channel %s: %w", ch, err)
	}
	return c, nil
}

// channelDelta is a set of channel writes for one device.
type channelDelta struct {
	put []Channel
	del []DeviceID
}

func (d channelDelta) empty() bool { return len(d.put) == 0 && len(d.del) == 0 }

// applyChannels writes delta and sets the device's channel count (and, for
// a complete sync, its Synced time) in one atomic batch.
func (r *registry) applyChannels(ctx context.Context, dev DeviceID, delta channelDelta, count func(before int) int, synced time.Time) error {
	for range casRetries {
		d, ver, err := r.device(ctx, dev)
		if err != nil {
			return err
		}
		b := new(store.Batch)
		for _, c := range delta.put {
			val, err := json.Marshal(c)
			if err != nil {
				return fmt.Errorf("encode channel %s: %w", c.ID, err)
			}
			b.Put(channelKey(dev, c.ID), val, store.AnyVersion)
			b.Put(ownerKey(c.ID), []byte(dev), store.AnyVersion)
		}
		for _, id := range delta.del {
			b.Delete(channelKey(dev, id), store.AnyVersion)
			b.Delete(ownerKey(id), store.AnyVersion)
		}
		d.ChannelCount = count(d.ChannelCount)
		if !synced.IsZero() {
			d.Synced = synced
		}
		val, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("encode device %s: %w", dev, err)
		}
		b.Put(deviceKey(dev), val, ver)
		_, err = r.st.Apply(ctx, b)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("save channels of %s: %w", dev, err)
		}
		return nil
	}
	return fmt.Errorf("save channels of %s: %w", dev, store.ErrConflict)
}

// remove deletes a device, its channels and its index entries.
func (r *registry) remove(ctx context.Context, id DeviceID) error {
	if _, _, err := r.device(ctx, id); err != nil {
		return err
	}
	chs, err := r.channels(ctx, id)
	if err != nil {
		return err
	}
	b := new(store.Batch)
	for _, c := range chs {
		b.Delete(channelKey(id, c.ID), store.AnyVersion)
		if owner, err := r.st.Get(ctx, ownerKey(c.ID)); err == nil && string(owner.Value) == string(id) {
			b.Delete(ownerKey(c.ID), owner.Version)
		}
	}
	b.Delete(deviceKey(id), store.AnyVersion)
	b.IndexRemove(indexDevices, string(id))
	b.IndexRemove(indexDeadline, string(id))
	if _, err := r.st.Apply(ctx, b); err != nil {
		return fmt.Errorf("delete device %s: %w", id, err)
	}
	r.forgetSeen(id, time.Time{})
	r.forgetDecoded(id)
	return nil
}

// due claims up to limit devices whose offline deadline has passed.
func (r *registry) due(ctx context.Context, now time.Time, limit int) ([]DeviceID, error) {
	// Claiming is a write (a commit on bolt) even when nothing is due, as
	// on almost every sweep; a read first makes those sweeps cheap.
	peek, err := r.st.IndexRange(ctx, indexDeadline, store.Range{Min: math.Inf(-1), Max: unixMs(now), Limit: 1})
	if err == nil && len(peek) == 0 {
		return nil, nil
	}
	ents, err := r.st.ClaimDue(ctx, indexDeadline, unixMs(now), limit)
	if err != nil {
		return nil, fmt.Errorf("claim due devices: %w", err)
	}
	out := make([]DeviceID, 0, len(ents))
	for _, e := range ents {
		out = append(out, DeviceID(strings.TrimSpace(e.Member)))
	}
	return out, nil
}
