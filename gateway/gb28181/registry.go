package gb28181

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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
	d, err := decode[Device](rec.Value)
	if err != nil {
		return Device{}, 0, fmt.Errorf("decode device %s: %w", id, err)
	}
	return d, rec.Version, nil
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
	return nil
}

// due claims up to limit devices whose offline deadline has passed.
func (r *registry) due(ctx context.Context, now time.Time, limit int) ([]DeviceID, error) {
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
