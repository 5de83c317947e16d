package hub

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"pingan/internal/sample"
	"pingan/media"
)

// demoStreams is how many looping demo streams --demo adds.
const demoStreams = 4

// runDemo publishes demo/1 … demo/4 from the shipped sample, paced in real
// time with continuous timestamps across loops, until ctx ends.
func runDemo(ctx context.Context, mh *media.Hub) error {
	var wg sync.WaitGroup
	errc := make(chan error, demoStreams)
	for i := 1; i <= demoStreams; i++ {
		st, err := mh.Publish(media.StreamID(fmt.Sprintf("demo/%d", i)))
		if err != nil {
			return fmt.Errorf("demo/%d: %w", i, err)
		}
		st.SetTracks([]*media.Track{
			{Codec: media.H264, ClockRate: 90000},
			{Codec: media.PCMA, ClockRate: 8000, Channels: 1},
		})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer st.Close()
			if err := sample.Loop(ctx, demoSink{st}); err != nil {
				errc <- err
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// demoSink writes the sample into a media stream.
type demoSink struct{ st *media.Stream }

func (d demoSink) Video(f sample.Frame, pts int64) {
	d.st.Write(&media.Unit{Track: 0, PTS: pts, Keyframe: f.Keyframe, NALUs: slices.Clone(f.NALUs)})
}

func (d demoSink) Audio(alaw []byte, pts int64) {
	d.st.Write(&media.Unit{Track: 1, PTS: pts, Payload: alaw})
}
