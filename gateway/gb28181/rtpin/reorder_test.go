package rtpin

import (
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
)

type emitted struct {
	seq uint16
	gap bool
}

func TestReorder(t *testing.T) {
	t0 := time.Unix(1000, 0)
	for _, tc := range []struct {
		name   string
		size   int
		in     []uint16
		expire bool // run expire 1 s later
		want   []emitted
		lost   uint64
		late   uint64
	}{
		{name: "in order", size: 8, in: []uint16{10, 11, 12},
			want: []emitted{{10, false}, {11, false}, {12, false}}},
		{name: "swap", size: 8, in: []uint16{10, 12, 11, 13},
			want: []emitted{{10, false}, {11, false}, {12, false}, {13, false}}},
		{name: "wrap", size: 8, in: []uint16{65534, 0, 65535, 1},
			want: []emitted{{65534, false}, {65535, false}, {0, false}, {1, false}}},
		{name: "duplicate and late", size: 8, in: []uint16{10, 11, 11, 9, 12},
			want: []emitted{{10, false}, {11, false}, {12, false}}, late: 2},
		{name: "gap expires", size: 8, in: []uint16{10, 12, 13}, expire: true,
			want: []emitted{{10, false}, {12, true}, {13, false}}, lost: 1},
		{name: "gap beyond window", size: 4, in: []uint16{10, 12, 20}, expire: true,
			want: []emitted{{10, false}, {12, true}, {20, true}}, lost: 8},
		{name: "restart", size: 8, in: []uint16{10, 11, 40000, 40001},
			want: []emitted{{10, false}, {11, false}, {40000, true}, {40001, false}}},
		{name: "tcp gap", size: 1, in: []uint16{5, 6, 8, 7, 9},
			want: []emitted{{5, false}, {6, false}, {8, true}, {9, false}}, lost: 1, late: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReorder(tc.size, 100*time.Millisecond)
			var got []emitted
			emit := func(p *rtp.Packet, gap bool) { got = append(got, emitted{p.SequenceNumber, gap}) }
			for i, s := range tc.in {
				r.push(&rtp.Packet{Header: rtp.Header{SequenceNumber: s}}, t0.Add(time.Duration(i)*time.Millisecond), emit)
			}
			if tc.expire {
				if r.deadline().IsZero() {
					t.Fatal("nothing held")
				}
				r.expire(t0.Add(time.Second), emit)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("emitted %v, want %v", got, tc.want)
			}
			if r.lost != tc.lost || r.late != tc.late {
				t.Errorf("lost %d late %d, want %d %d", r.lost, r.late, tc.lost, tc.late)
			}
		})
	}
}
