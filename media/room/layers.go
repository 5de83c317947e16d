package room

// Assumed bit rates of simulcast layers not measured yet (lowest first;
// a browser's q/h/f at 320×180, 640×360, 1280×720).
var defaultLayerBitrates = []int64{150_000, 500_000, 1_500_000}

// audioReserve is kept out of the video budget for each forwarded source.
const audioReserve = 40_000

// layerCandidate is one simulcast forward: the measured bit rate of each
// layer (lowest first, 0 = unknown) and the highest layer allowed (the
// subscriber's requested size).
type layerCandidate struct {
	bitrates []int64
	max      int
}

func (c layerCandidate) rate(l int) int64 {
	if l < len(c.bitrates) && c.bitrates[l] > 0 {
		return c.bitrates[l]
	}
	return defaultLayerBitrates[min(l, len(defaultLayerBitrates)-1)]
}

// selectLayers shares a subscriber's bandwidth estimate (bit/s; 0 =
// unknown) among its simulcast forwards: every forward starts on its
// lowest layer, then forwards are raised one layer at a time, round robin,
// while the total stays within the budget and under each one's cap. An
// unknown estimate gives every forward its cap.
func selectLayers(budget int64, cands []layerCandidate) []int {
	out := make([]int, len(cands))
	if budget <= 0 {
		for i, c := range cands {
			out[i] = max(c.max, 0)
		}
		return out
	}
	var used int64
	for i, c := range cands {
		used += c.rate(0) + audioReserve
		out[i] = 0
	}
	for raised := true; raised; {
		raised = false
		for i, c := range cands {
			l := out[i]
			if l >= c.max {
				continue
			}
			extra := c.rate(l+1) - c.rate(l)
			if used+extra > budget {
				continue
			}
			used += extra
			out[i] = l + 1
			raised = true
		}
	}
	return out
}
