package media

// GOP cache bounds: past either, the cache empties and waits for the next
// keyframe (a GOP cut short cannot be decoded anyway).
const (
	gopMaxUnits = 300
	gopMaxBytes = 8 << 20
)

// gopCache holds the last keyframe of the stream's key track (its first
// video track) and every unit of any track after it, so a new reader starts
// with a picture at once. Streams without video cache nothing. It is not
// safe for concurrent use: the stream calls it under its write lock.
type gopCache struct {
	keyTrack int // -1: no video, nothing is cached
	units    []*Unit
	bytes    int
	maxUnits int
	maxBytes int
}

func newGOPCache() gopCache {
	return gopCache{keyTrack: -1, maxUnits: gopMaxUnits, maxBytes: gopMaxBytes}
}

// setKeyTrack picks the key track; a change empties the cache.
func (g *gopCache) setKeyTrack(i int) {
	if i != g.keyTrack {
		g.keyTrack = i
		g.reset()
	}
}

// isKey reports whether readers may resume at u: a keyframe of the key
// track, or any unit when the stream has no video.
func (g *gopCache) isKey(u *Unit) bool {
	return g.keyTrack < 0 || (u.Track == g.keyTrack && u.Keyframe)
}

func (g *gopCache) add(u *Unit) {
	if g.keyTrack < 0 {
		return
	}
	if u.Track == g.keyTrack && u.Keyframe {
		g.reset()
	} else if len(g.units) == 0 {
		return // no keyframe yet: nothing decodable to keep
	}
	g.units = append(g.units, u)
	g.bytes += unitSize(u)
	if len(g.units) > g.maxUnits || g.bytes > g.maxBytes {
		g.reset()
	}
}

func (g *gopCache) reset() {
	clear(g.units)
	g.units = g.units[:0]
	g.bytes = 0
}

// unitSize is the RTP payload size of u.
func unitSize(u *Unit) int {
	n := 0
	for _, p := range u.Packets {
		n += len(p.Payload)
	}
	return n
}
