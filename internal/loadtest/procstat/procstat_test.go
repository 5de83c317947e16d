package procstat

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

// The real /proc of the test process: its RSS is there and its CPU time
// grows with busy work.
func TestSelf(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	if rss := RSS(); rss < 1<<20 {
		t.Errorf("RSS %d bytes, want at least 1 MiB", rss)
	}
	st, err := ReadStatus(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.VmRSS <= 0 || st.RssAnon <= 0 || st.RssAnon+st.RssFile > st.VmRSS+1<<20 {
		t.Errorf("status %+v: want VmRSS > 0 and RssAnon+RssFile about VmRSS", st)
	}
	cpu0, ticks0 := CPUTime(), mustTicks(t)
	usr0, _ := CPUSplit()
	// Spin until 50 ms of CPU are used (a shared box may run us slowly),
	// at most 10 s.
	for deadline := time.Now().Add(10 * time.Second); CPUTime()-cpu0 < 50*time.Millisecond && time.Now().Before(deadline); {
		busy(10 * time.Millisecond)
	}
	cpu1, ticks1 := CPUTime(), mustTicks(t)
	usr1, _ := CPUSplit()
	if d := cpu1 - cpu0; d < 50*time.Millisecond {
		t.Errorf("CPU time grew %s over 10 s of busy work", d)
	}
	if usr1 <= usr0 {
		t.Errorf("user CPU did not grow: %s → %s", usr0, usr1)
	}
	if ticks1 <= ticks0 {
		t.Errorf("/proc/self/stat ticks did not grow: %d → %d", ticks0, ticks1)
	}
	idle, total := BoxCPU()
	if total == 0 || idle > total {
		t.Errorf("BoxCPU idle %d total %d", idle, total)
	}
	_ = UDPDrops() // may be 0; it must only not fail
	if Loadavg() == "?" {
		t.Error("no load average")
	}
}

func mustTicks(t *testing.T) int64 {
	t.Helper()
	n, err := ReadTicks(0)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func busy(d time.Duration) {
	x := 0
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		for i := range 10000 {
			x += i * i
		}
	}
	_ = x
}

var statusCases = []struct {
	in   string
	want Status
}{
	{"Name:\tloadtest\nVmRSS:\t   2048 kB\nRssAnon:\t    1024 kB\nRssFile:\t     512 kB\n", Status{VmRSS: 2 << 20, RssAnon: 1 << 20, RssFile: 512 << 10}},
	{"VmRSS: 7 kB", Status{VmRSS: 7 << 10}},
	{"VmRSS: x kB\nVmHWM: 9 kB\n", Status{}},
	{"", Status{}},
}

func TestParseStatus(t *testing.T) {
	for _, c := range statusCases {
		if got := ParseStatus([]byte(c.in)); got != c.want {
			t.Errorf("ParseStatus(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

func FuzzParseStatus(f *testing.F) {
	for _, c := range statusCases {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		st := ParseStatus(b)
		if st.VmRSS < 0 || st.RssAnon < 0 || st.RssFile < 0 {
			t.Errorf("negative figure %+v", st)
		}
	})
}

var ticksCases = []struct {
	in   string
	want int64
	ok   bool
}{
	{"4242 (pingan) S 1 4242 4242 0 -1 4194560 500 0 0 0 150 30 0 0 20 0 12 0 100 0 0\n", 180, true},
	{"7 (a b) (c)) R 1 7 7 0 -1 0 0 0 0 0 5 6 0 0\n", 11, true},
	{"7 (short) R 1 2 3\n", 0, false},
	{"no name", 0, false},
	{"7 (x) R 1 7 7 0 -1 0 0 0 0 0 u 6 0 0", 0, false},
}

func TestParseTicks(t *testing.T) {
	for _, c := range ticksCases {
		got, err := ParseTicks([]byte(c.in))
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseTicks(%q) = %d, %v; want %d (ok %v)", c.in, got, err, c.want, c.ok)
		}
	}
}

func FuzzParseTicks(f *testing.F) {
	for _, c := range ticksCases {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if n, err := ParseTicks(b); err != nil && n != 0 {
			t.Errorf("%d ticks with error %v", n, err)
		}
	})
}

var boxCases = []struct {
	in          string
	idle, total uint64
}{
	{"cpu  100 5 50 800 40 0 5 0 0 0\ncpu0 50 2 25 400 20 0 2 0 0 0\n", 840, 1000},
	{"cpu 1 2 3\n", 0, 6},
	{"intr 1 2 3\n", 0, 0},
	{"", 0, 0},
}

func TestParseBoxCPU(t *testing.T) {
	for _, c := range boxCases {
		if idle, total := ParseBoxCPU([]byte(c.in)); idle != c.idle || total != c.total {
			t.Errorf("ParseBoxCPU(%q) = %d, %d; want %d, %d", c.in, idle, total, c.idle, c.total)
		}
	}
}

func FuzzParseBoxCPU(f *testing.F) {
	for _, c := range boxCases {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// Sums of uint64 may wrap on absurd input; only no panic is asked.
		_, _ = ParseBoxCPU(b)
	})
}

const snmp = "Ip: Forwarding DefaultTTL\nIp: 1 64\n" +
	"Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors\n" +
	"Udp: 1000 3 12 900 10 2 0 0 0\n" +
	"UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\nUdpLite: 0 0 0 0 7 7\n"

var dropCases = []struct {
	in   string
	want uint64
}{
	{snmp, 12},
	{"Udp: RcvbufErrors\nUdp:\n", 0},
	{"Udp: InDatagrams RcvbufErrors\n", 0},
	{"", 0},
}

func TestParseUDPDrops(t *testing.T) {
	for _, c := range dropCases {
		if got := ParseUDPDrops([]byte(c.in)); got != c.want {
			t.Errorf("ParseUDPDrops(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

func FuzzParseUDPDrops(f *testing.F) {
	for _, c := range dropCases {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) { _ = ParseUDPDrops(b) })
}

func TestPct(t *testing.T) {
	ds := []time.Duration{5 * time.Millisecond, time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond}
	for _, c := range []struct {
		p    int
		want string
	}{{0, "1ms"}, {50, "3ms"}, {99, "5ms"}, {100, "5ms"}} {
		if got := Pct(ds, c.p); got != c.want {
			t.Errorf("Pct(%d) = %s, want %s", c.p, got, c.want)
		}
	}
	if ds[0] != 5*time.Millisecond {
		t.Error("Pct reordered its input")
	}
	if Pct(nil, 50) != "-" {
		t.Error("Pct of none")
	}
}

// The test binary started again as a child: its stdout lines come back
// and its CPU is its own.
func TestStartChild(t *testing.T) {
	if os.Getenv("PROCSTAT_TEST_CHILD") == "1" {
		fmt.Println("READY")
		busy(50 * time.Millisecond)
		fmt.Println("done")
		os.Exit(0)
	}
	t.Setenv("PROCSTAT_TEST_CHILD", "1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lines, wait, err := StartChild(ctx, "-test.run=^TestStartChild$")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for lines.Scan() {
		got = append(got, lines.Text())
	}
	if err := wait(); err != nil {
		t.Errorf("child: %v", err)
	}
	if len(got) != 2 || got[0] != "READY" || got[1] != "done" {
		t.Errorf("child printed %q", got)
	}
}
