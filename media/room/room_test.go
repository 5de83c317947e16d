package room

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"pingan/media"
)

// TestMeetingFiveAllSeeAll: five pion participants publish; each receives
// the other four (video frames and audio) on its one subscriber PC.
func TestMeetingFiveAllSeeAll(t *testing.T) {
	e := newEnv(t, nil)
	r, err := e.m.Create(CreateOptions{Kind: KindMeeting, Name: "mediation", Host: "leader1"})
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	size := 5
	if v, err := strconv.Atoi(os.Getenv("PINGAN_MEETING_SIZE")); err == nil {
		size = v // benchmarks: a meeting of 10
	}
	var cs []*client
	for i := range size {
		role := RoleParticipant
		if i == 0 {
			role = RoleHost
		}
		c := newClient(t).join(r, fmt.Sprintf("p%d", i), role)
		if _, err := c.publish(ctx, nil, -1); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	for _, c := range cs {
		for _, o := range cs {
			if o == c {
				continue
			}
			label := string(o.p.ID())
			waitFor(t, 20*time.Second, c.p.name+" receives "+o.p.name, func() bool {
				n := c.counters(label)
				return n.frames.Load() >= 10 && n.audio.Load() >= 10
			})
		}
		if n := c.offers.Load(); n > 6 {
			t.Logf("%s answered %d offers", c.p.name, n)
		}
	}
	info := r.Info()
	if len(info.Participants) != size {
		t.Fatalf("%d participants", len(info.Participants))
	}
	for _, p := range info.Participants {
		if len(p.Streams) != 1 || !strings.HasPrefix(string(p.Streams[0]), "room/"+string(r.ID())+"/") {
			t.Errorf("participant %s streams %v", p.Name, p.Streams)
		}
	}
	if got := e.eng.Peers(); got != 2*size {
		t.Errorf("%d peer connections on the hub, want %d (an ingest and a subscriber each)", got, 2*size)
	}
	if d := os.Getenv("PINGAN_MEETING_HOLD"); d != "" {
		hold, _ := time.ParseDuration(d)
		var lost0 uint64
		for _, c := range cs {
			for _, n := range c.recv.All() {
				lost0 += n.lost.Load()
			}
		}
		time.Sleep(hold) // benchmarks: measure CPU over a steady window
		var lost, frames uint64
		for _, c := range cs {
			for _, n := range c.recv.All() {
				lost += n.lost.Load()
				frames += n.frames.Load()
			}
		}
		t.Logf("meeting of %d: %d frames received, %d packets missing (%d during the hold)", size, frames, lost, lost-lost0)
	}
}

// TestCameraReachesEveryMember: a camera stream added by the host arrives
// at every member like a participant, and is readable as a room stream.
func TestCameraReachesEveryMember(t *testing.T) {
	e := newEnv(t, nil)
	publishSample(t, e.hub, "demo/cam")
	r, err := e.m.Create(CreateOptions{Kind: KindMeeting, Name: "m", Host: "h"})
	must(t, err)
	cs := []*client{newClient(t).join(r, "host", RoleHost), newClient(t).join(r, "a", RoleParticipant), newClient(t).join(r, "b", RoleParticipant)}
	cam, err := r.AddCamera("demo/cam", "gate camera")
	must(t, err)
	for _, c := range cs {
		waitFor(t, 20*time.Second, c.p.name+" receives the camera", func() bool {
			return c.counters(string(cam.ID())).frames.Load() >= 10
		})
	}
	alias := media.StreamID(fmt.Sprintf("room/%s/%s", r.ID(), cam.ID()))
	rd, err := e.hub.Subscribe(context.Background(), alias, media.ReaderOptions{})
	must(t, err)
	rd.Close()
	must(t, r.Remove(cs[0].p.ID(), cam.ID()))
	if _, err := e.hub.Subscribe(context.Background(), alias, media.ReaderOptions{}); err == nil {
		t.Error("camera alias still readable after removal")
	}
}

// TestHostActions: mute, remove, floor and end each take effect.
func TestHostActions(t *testing.T) {
	e := newEnv(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := e.m.Create(CreateOptions{Kind: KindClass, Name: "training", Host: "trainer"})
	must(t, err)
	host := newClient(t).join(r, "trainer", RoleHost)
	_, err = host.publish(ctx, nil, -1)
	must(t, err)
	v1 := newClient(t).join(r, "v1", RoleViewer)
	v2 := newClient(t).join(r, "v2", RoleViewer)
	hostLabel := string(host.p.ID())
	waitFor(t, 20*time.Second, "v1 receives the trainer", func() bool { return v1.counters(hostLabel).frames.Load() > 5 })

	// A viewer may not publish without the floor.
	if _, err := v1.publish(ctx, nil, -1); err == nil || !strings.Contains(err.Error(), "floor") {
		t.Fatalf("viewer publish: %v", err)
	}
	if err := r.SetFloor(v2.p.ID(), v1.p.ID(), true); err == nil {
		t.Fatal("a viewer gave the floor")
	}
	// Floor: v1 may publish, v2 receives it; taking the floor ends it.
	must(t, r.SetFloor(host.p.ID(), v1.p.ID(), true))
	v1.waitEvent(EventFloor, 5*time.Second, func(ev Event) bool { return *ev.Value })
	_, err = v1.publish(ctx, nil, -1)
	must(t, err)
	v1Label := string(v1.p.ID())
	waitFor(t, 20*time.Second, "v2 receives v1", func() bool { return v2.counters(v1Label).frames.Load() > 5 })
	must(t, r.SetFloor(host.p.ID(), v1.p.ID(), false))
	waitFor(t, 10*time.Second, "v1's publication ends", func() bool { return len(v1.p.Info().Streams) == 0 })

	// Mute: the trainer's audio stops reaching v2.
	if err := r.Mute(v1.p.ID(), host.p.ID(), false); err == nil {
		t.Fatal("a viewer muted the host")
	}
	must(t, r.Mute(host.p.ID(), v2.p.ID(), false)) // muting a non-publisher is harmless
	must(t, r.Mute(host.p.ID(), host.p.ID(), false))
	host.waitEvent(EventMuted, 5*time.Second, nil)
	time.Sleep(300 * time.Millisecond)
	a0 := v2.counters(hostLabel).audio.Load()
	time.Sleep(700 * time.Millisecond)
	if a1 := v2.counters(hostLabel).audio.Load(); a1 != a0 {
		t.Errorf("audio still flowing after a host mute: %d → %d packets", a0, a1)
	}
	if !host.p.Info().AudioMuted {
		t.Error("participant info not muted")
	}

	// Remove: v2 is told, leaves, and cannot come back.
	must(t, r.Remove(host.p.ID(), v2.p.ID()))
	v2.waitEvent(EventRemoved, 5*time.Second, nil)
	if _, ok := r.Participant(v2.p.ID()); ok {
		t.Error("removed participant still in the room")
	}
	if _, err := r.Join(JoinOptions{Name: "v2", User: "v2", Role: RoleViewer}); err != ErrRemoved {
		t.Errorf("rejoin after removal: %v", err)
	}

	// End: everyone is told; the room refuses joins; attendance keeps all.
	must(t, r.EndBy(host.p.ID()))
	v1.waitEvent(EventEnded, 5*time.Second, nil)
	if _, err := r.Join(JoinOptions{Name: "x", User: "x", Role: RoleViewer}); err != ErrEnded {
		t.Errorf("join after end: %v", err)
	}
	if got := len(r.Attendance()); got != 3 {
		t.Errorf("attendance has %d records, want 3", got)
	}
	for _, a := range r.Attendance() {
		if a.Left.IsZero() {
			t.Errorf("%s has no leave time", a.Name)
		}
	}
	csv := string(r.AttendanceCSV(nil))
	if !strings.HasPrefix(csv, "participant,name,user,role,joined,left,duration_s\n") || strings.Count(csv, "\n") != 4 {
		t.Errorf("csv:\n%s", csv)
	}
	waitFor(t, 10*time.Second, "every peer connection closed", func() bool { return e.eng.Peers() == 0 })
}

// TestReconnectGrace: a participant that reconnects within the grace
// period gets its place back; one that does not is gone after it.
func TestReconnectGrace(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.GracePeriod = 400 * time.Millisecond })
	r, err := e.m.Create(CreateOptions{Kind: KindMeeting, Name: "m", Host: "h"})
	must(t, err)
	a := newClient(t).join(r, "a", RoleParticipant)
	b := newClient(t).join(r, "b", RoleParticipant)
	a.p.Disconnect()
	b.waitEvent(EventUpdated, 2*time.Second, func(ev Event) bool { return ev.Participant.ID == a.p.ID() && !ev.Participant.Connected })
	p, err := r.Join(JoinOptions{Name: "a", User: "a", Role: RoleParticipant, Resume: a.p.ID()})
	must(t, err)
	if p != a.p {
		t.Fatal("resume gave a new participant")
	}
	time.Sleep(600 * time.Millisecond)
	if _, ok := r.Participant(a.p.ID()); !ok {
		t.Fatal("resumed participant removed after the grace period")
	}
	// A resume by another user is a fresh join.
	p2, err := r.Join(JoinOptions{Name: "x", User: "x", Role: RoleParticipant, Resume: a.p.ID()})
	must(t, err)
	if p2.ID() == a.p.ID() {
		t.Fatal("another user took a's place")
	}
	b.p.Disconnect()
	waitFor(t, 3*time.Second, "b gone after the grace period", func() bool { _, ok := r.Participant(b.p.ID()); return !ok })
	if len(r.Attendance()) != 3 {
		t.Errorf("attendance %d, want 3 (a resumed keeps one record)", len(r.Attendance()))
	}
}

// TestActiveSpeaker: the publisher whose audio-level extension says loud
// becomes the active speaker.
func TestActiveSpeaker(t *testing.T) {
	e := newEnv(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := e.m.Create(CreateOptions{Kind: KindMeeting, Name: "m", Host: "h"})
	must(t, err)
	quiet := newClient(t).join(r, "quiet", RoleParticipant)
	loud := newClient(t).join(r, "loud", RoleParticipant)
	_, err = quiet.publish(ctx, nil, 120)
	must(t, err)
	lp, err := loud.publish(ctx, nil, 15)
	must(t, err)
	quiet.waitEvent(EventSpeaker, 20*time.Second, func(ev Event) bool {
		return len(ev.Speakers) == 1 && ev.Speakers[0] == loud.p.ID()
	})
	lp.level.Store(127) // silence: the speaker list empties
	quiet.waitEvent(EventSpeaker, 10*time.Second, func(ev Event) bool { return len(ev.Speakers) == 0 })
}
