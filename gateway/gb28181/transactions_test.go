package gb28181

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"pingan/gateway/gb28181/manscdp"
	"pingan/internal/store"
)

// sipTransactions counts gosip's live transactions (one goroutine each).
func sipTransactions() int {
	var b bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
	_, blocks, _ := strings.Cut(b.String(), "\n") // "goroutine profile: total N"
	n := 0
	for block := range strings.SplitSeq(blocks, "\n\n") {
		var count int
		if strings.Contains(block, "transaction.(*layer).serveTransaction") {
			if _, err := fmt.Sscanf(block, "%d @", &count); err == nil {
				n += count
			}
		}
	}
	return n
}

// Keepalives and responses are answered without a transaction, and the
// transactions of REGISTER and of our queries end a few seconds after
// their final response instead of gosip's 32 s: at 10,000 devices those
// were thousands of goroutines and hundreds of MB.
func TestSIPTransactionsEndEarly(t *testing.T) {
	base := sipTransactions()
	ts := startServer(t, nil)
	id := "34020000001320000031"
	ua := newUA(t, ts.addr, id)
	ua.handle(func(ua *testUA, m *sipMsg) { ua.respond(m, 200, "") })
	if res := ua.register(3600); res.status != 200 {
		t.Fatalf("REGISTER: %d", res.status)
	}
	before := sipTransactions()
	if before <= base {
		t.Fatalf("%d SIP transactions right after a REGISTER, %d before it: not counting them", before, base)
	}
	for sn := range 20 {
		if res := ua.message(keepaliveBody(id, sn)); res.status != 200 {
			t.Fatalf("keepalive: %d", res.status)
		}
	}
	if res := ua.message([]byte(`<?xml version="1.0"?><Response><CmdType>DeviceStatus</CmdType><SN>1</SN><DeviceID>` + id + `</DeviceID><Result>OK</Result></Response>`)); res.status != 200 {
		t.Fatalf("response MESSAGE: %d", res.status)
	}
	if n := sipTransactions(); n > before+2 { // the sync's queries may come and go meanwhile
		t.Errorf("%d transactions after 21 keepalives and responses, %d before: these should need none", n, before)
	}
	d, err := ts.Device(t.Context(), DeviceID(id))
	if err != nil || !d.Online || !d.LastKeepalive.Equal(ts.clock.Now()) {
		t.Fatalf("keepalive not applied: %+v %v", d, err)
	}
	deadline := time.Now().Add(txLinger + 5*time.Second) // the sync's queries time out after 1 s each
	for sipTransactions() > base {
		if time.Now().After(deadline) {
			t.Fatalf("%d SIP transactions still live %s after the last request (gosip alone keeps them 32 s)", sipTransactions()-base, txLinger+5*time.Second)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A device record written elsewhere (another node on Redis) is never
// hidden by the decoded copy this node keeps.
func TestDeviceCacheFollowsTheStore(t *testing.T) {
	st := newTestStore(t)
	s, err := New(testConfig(5060, newFakeClock()), st, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	id := DeviceID("34020000001320000032")
	if _, _, err := s.reg.update(ctx, id, func(d *Device, _ bool) error {
		d.Online, d.Name, d.RemoteAddr = true, "east gate", "127.0.0.1:5999"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if d, _, _ := s.reg.device(ctx, id); d.Name != "east gate" {
		t.Fatalf("cached %+v", d)
	}
	other, _, _ := s.reg.device(ctx, id)
	other.Name, other.Online = "west gate", false
	val, _ := json.Marshal(other)
	if _, err := st.Apply(ctx, new(store.Batch).Put(deviceKey(id), val, store.AnyVersion)); err != nil {
		t.Fatal(err)
	}
	d, _, err := s.reg.device(ctx, id)
	if err != nil || d.Name != "west gate" || d.Online {
		t.Fatalf("after another writer: %+v %v", d, err)
	}
	if err := s.reg.remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.reg.device(ctx, id); err == nil {
		t.Fatal("removed device still found")
	}
}

// ScanKeepalive and the full decoder agree on the keepalive this package
// sends in its own tests, so the fast path is the one exercised there.
func TestKeepaliveBodyTakesTheFastPath(t *testing.T) {
	if _, ok := manscdp.ScanKeepalive(keepaliveBody("34020000001320000033", 9)); !ok {
		t.Fatal("test keepalive body not scanned")
	}
}

// During a burst of REGISTERs the syncs step back: only burstSyncs run.
func TestRegisterBurstDetected(t *testing.T) {
	s, err := New(testConfig(5060, newFakeClock()), newMemStore(), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if s.registerBurst() {
		t.Fatal("burst before any REGISTER")
	}
	for range burstRegisters - 1 {
		s.countRegister()
	}
	if s.registerBurst() {
		t.Fatalf("burst at %d REGISTERs", burstRegisters-1)
	}
	s.countRegister()
	if !s.registerBurst() {
		t.Fatalf("no burst at %d REGISTERs in a second", burstRegisters)
	}
	s.regRate.mu.Lock()
	s.regRate.start = s.regRate.start.Add(-1500 * time.Millisecond) // the next second began
	s.regRate.mu.Unlock()
	if !s.registerBurst() {
		t.Fatal("burst forgotten right after its second")
	}
	s.regRate.mu.Lock()
	s.regRate.start = s.regRate.start.Add(-time.Second) // and went quiet
	s.regRate.mu.Unlock()
	if s.registerBurst() {
		t.Fatal("burst still on after a quiet second")
	}
}

// The first, unauthenticated REGISTER of a registration is challenged
// without a transaction; a retransmission of it is challenged again with
// a fresh nonce, and either nonce then works once.
func TestChallengeWithoutTransaction(t *testing.T) {
	ts := startServer(t, nil)
	id := "34020000001320000034"
	ua := newUA(t, ts.addr, id)
	base := sipTransactions()
	nonces := map[string]bool{}
	var last *sipMsg
	for range 20 {
		res := ua.request("REGISTER", "Expires: 3600\r\n", nil, ua.callID)
		if res.status != 401 {
			t.Fatalf("REGISTER without credentials: %d, want 401", res.status)
		}
		nonces[between(res.hdr.Get("Www-Authenticate"), `nonce="`, `"`)] = true
		last = res
	}
	if len(nonces) != 20 {
		t.Errorf("%d distinct nonces in 20 challenges", len(nonces))
	}
	if n := sipTransactions(); n > base {
		t.Errorf("%d SIP transactions after 20 challenges, %d before: challenges should need none", n, base)
	}
	res := ua.request("REGISTER", "Expires: 3600\r\n"+ua.authorization(last, "REGISTER"), nil, ua.callID)
	if res.status != 200 {
		t.Fatalf("digest on the last challenge: %d", res.status)
	}
	if d, err := ts.Device(t.Context(), DeviceID(id)); err != nil || !d.Online {
		t.Fatalf("not registered: %+v %v", d, err)
	}
}

// Keepalives that must reach the store are written in one batch by the
// time the earliest of them is due (a keepalive interval before its
// stored deadline), not one commit per sweep.
func TestKeepalivesFlushedByTheirDeadline(t *testing.T) {
	clock := newFakeClock()
	st := newMemStore()
	s, err := New(testConfig(5060, clock), st, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	t0 := clock.Now()
	ids := []DeviceID{"34020000001320000035", "34020000001320000036"}
	for _, id := range ids {
		if _, _, err := s.reg.update(ctx, id, func(d *Device, _ bool) error {
			d.Online, d.RegisteredAt, d.Expires = true, t0, 3600
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	// stored deadline t0+180 s; 60 s keepalives, 3 missed
	storedKeepalive := func(id DeviceID) time.Time {
		d, err := s.reg.stored(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return d.LastKeepalive
	}
	clock.Advance(60 * time.Second)
	s.keepalive(ctx, inbound{from: ids[0]})
	if !s.reg.lastSeen(ids[0]).Equal(clock.Now()) {
		t.Fatal("keepalive not seen")
	}
	clock.Advance(35 * time.Second) // 85 s left: due at t0+120 s
	s.keepalive(ctx, inbound{from: ids[0]})
	s.keepalive(ctx, inbound{from: ids[1]})
	ka := clock.Now()
	for range 24 {
		clock.Advance(time.Second)
		s.sweep(ctx)
	}
	if got := storedKeepalive(ids[0]); !got.IsZero() {
		t.Fatalf("written at t0+119 s, before it was due: %v", got)
	}
	if d, err := s.Device(ctx, ids[0]); err != nil || !d.LastKeepalive.Equal(ka) || !d.Online {
		t.Fatalf("unwritten keepalive not seen by reads: %+v %v", d, err)
	}
	clock.Advance(time.Second)
	s.sweep(ctx)
	for _, id := range ids {
		if got := storedKeepalive(id); !got.Equal(ka) {
			t.Errorf("%s: stored keepalive %v at t0+120 s, want %v", id, got, ka)
		}
	}
	ents, err := st.IndexRange(ctx, indexDeadline, store.Range{Min: 0, Max: unixMs(ka.Add(time.Hour))})
	if err != nil || len(ents) != 2 || ents[0].Score != unixMs(ka.Add(180*time.Second)) {
		t.Fatalf("deadline index %+v %v", ents, err)
	}
}
