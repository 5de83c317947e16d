package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"pingan/internal/loadtest/procstat"
)

const password = "load-Pa55word"

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func freePort(t *testing.T) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			u.Close()
			return p
		}
	}
	t.Fatal("no free port")
	return 0
}

// start runs a process until the test ends (SIGKILL at the latest).
func start(t *testing.T, out string, name string, args ...string) *exec.Cmd {
	t.Helper()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	for _, kv := range os.Environ() { // the hub rejects unknown PINGAN_* variables
		if !strings.HasPrefix(kv, "PINGAN_LOADTEST") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		f.Close()
	})
	return cmd
}

// registrations reads the hub's JSON log: the times of "device registered".
func registrations(t *testing.T, path string) []time.Time {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []time.Time
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte(`"device registered"`)) {
			continue
		}
		var rec struct {
			Time time.Time `json:"time"`
		}
		if json.Unmarshal(line, &rec) == nil {
			out = append(out, rec.Time)
		}
	}
	slices.SortFunc(out, time.Time.Compare) // handlers log concurrently
	return out
}

// countLines counts the lines of path that contain s.
func countLines(path, s string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte(s))
}

// cpuTicks is utime+stime of pid in clock ticks (/proc/pid/stat).
func cpuTicks(t *testing.T, pid int) int64 {
	t.Helper()
	n, err := procstat.ReadTicks(pid)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// status is pid's /proc/pid/status memory figures.
func status(t *testing.T, pid int) procstat.Status {
	t.Helper()
	st, err := procstat.ReadStatus(pid)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// rssParts is the anonymous and file-backed (the bbolt mmap) parts of
// pid's RSS.
func rssParts(t *testing.T, pid int) string {
	st := status(t, pid)
	return fmt.Sprintf("anon %.0f MB, file %.0f MB", mb(st.RssAnon), mb(st.RssFile))
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// watchRSS samples pid's RSS every 250 ms until the test ends; the
// function it returns gives the highest sample since the last call.
func watchRSS(t *testing.T, pid int) func() float64 {
	var mu sync.Mutex
	high := 0.0
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			if st, err := procstat.ReadStatus(pid); err == nil {
				mu.Lock()
				high = max(high, mb(st.VmRSS))
				mu.Unlock()
			}
		}
	}()
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		h := high
		high = 0
		return h
	}
}

// rssMB is VmRSS of pid in MB.
func rssMB(t *testing.T, pid int) float64 { return mb(status(t, pid).VmRSS) }

func TestRegisterAndKeepaliveLoad(t *testing.T) {
	if os.Getenv("PINGAN_LOADTEST") != "1" {
		t.Skip("set PINGAN_LOADTEST=1 to run the GB28181 load benchmark")
	}
	devices := envInt("PINGAN_LOADTEST_DEVICES", 10000)
	rate := envInt("PINGAN_LOADTEST_RATE", 0)
	steady := time.Duration(envInt("PINGAN_LOADTEST_STEADY", 60)) * time.Second
	dir := t.TempDir()
	bin := filepath.Join(dir, "pingan")
	build := exec.Command("go", "build", "-o", bin, "-overlay", pprofOverlay(t, dir), "pingan/cmd/pingan")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	httpPort, sipPort := freePort(t), freePort(t)
	cfg := fmt.Sprintf(`data_dir: %s
log: {level: info, format: json}
http: {addr: "127.0.0.1:%d"}
auth: {admin_password: "load-admin-1"}
sip: {addr: "127.0.0.1:%d", password: %q, keepalive_interval: 60s}
rtsp: {addr: ""}
webrtc: {udp_port: %d, tcp_port: -1}
media: {rtp_ports: "34000-34099"}
`, filepath.Join(dir, "data"), httpPort, sipPort, password, freePort(t))
	cfgPath := filepath.Join(dir, "pingan.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	hubLog := filepath.Join(dir, "hub.log")
	profDir := os.Getenv("PINGAN_LOADTEST_PROFILE_DIR")
	pprofAddr := ""
	if profDir != "" {
		pprofAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		t.Setenv(pprofEnv, pprofAddr)
	}
	hubBin, simBin := bin, bin
	if b := os.Getenv("PINGAN_LOADTEST_HUB_BIN"); b != "" {
		hubBin = b // another build of the hub, to compare (it has no pprof)
	}
	if b := os.Getenv("PINGAN_LOADTEST_SIM_BIN"); b != "" {
		simBin = b
	}
	hub := start(t, hubLog, hubBin, "serve", "--config", cfgPath)
	os.Unsetenv(pprofEnv) // gbsim must not listen on it too
	if !waitHTTP(fmt.Sprintf("http://127.0.0.1:%d/", httpPort)) {
		b, _ := os.ReadFile(hubLog)
		t.Fatalf("hub not answering on port %d; its log:\n%s", httpPort, b)
	}

	peak := watchRSS(t, hub.Process.Pid)
	simStart := time.Now()
	if profDir != "" {
		go profile(t, pprofAddr, "profile?seconds=20", filepath.Join(profDir, "cpu-register.pprof"))
	}
	sim := start(t, filepath.Join(dir, "gbsim.log"), simBin, "gbsim", "--server", fmt.Sprintf("127.0.0.1:%d", sipPort),
		"--password", password, "--count", strconv.Itoa(devices), "--keepalive", "60s",
		"--local-ip", "127.0.0.1", "--rate", strconv.Itoa(rate))
	hubTicks0, simTicks0 := cpuTicks(t, hub.Process.Pid), cpuTicks(t, sim.Process.Pid)
	deadline := time.Now().Add(3 * time.Minute)
	var regs []time.Time
	for {
		regs = registrations(t, hubLog)
		if len(regs) >= devices || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	regEl := time.Since(simStart)
	hubCPU, simCPU := cpuTicks(t, hub.Process.Pid)-hubTicks0, cpuTicks(t, sim.Process.Pid)-simTicks0 // 10 ms ticks
	// CPU per registration holds up when other work shares the machine; the rate does not.
	t.Logf("registration phase, %s: hub CPU %.0f%% (%.2f ms per device), gbsim CPU %.0f%% (%.2f ms per device) of one core, hub peak RSS %.0f MB; load average %s",
		regEl.Round(time.Millisecond), float64(hubCPU)/regEl.Seconds(), float64(hubCPU)*10/float64(len(regs)),
		float64(simCPU)/regEl.Seconds(), float64(simCPU)*10/float64(len(regs)), peak(), procstat.Loadavg())
	if len(regs) < devices {
		t.Fatalf("%d of %d devices registered within 3 min (log %s)", len(regs), devices, hubLog)
	}
	if n := countLines(filepath.Join(dir, "gbsim.log"), `msg="register failed"`); n > 0 {
		t.Logf("gbsim: %d REGISTER attempts failed and were retried", n)
	}
	span := regs[len(regs)-1].Sub(regs[0])
	t.Logf("REGISTER+auth: %d devices in %s after the first = %.0f/s (gbsim start → last: %s)",
		len(regs), span.Round(time.Millisecond), float64(len(regs)-1)/span.Seconds(), regs[len(regs)-1].Sub(simStart).Round(time.Millisecond))
	for _, w := range []time.Duration{time.Second, 5 * time.Second} {
		t.Logf("  best %s window: %d registrations", w, bestWindow(regs, w))
	}

	// The steady state starts once the after-registration syncs (catalog,
	// info, status, subscription; queued on the hub) are done.
	syncStart, synced, syncRSS := time.Now(), 0, 0.0
	for time.Since(syncStart) < 3*time.Minute {
		if r := rssMB(t, hub.Process.Pid); profDir != "" && r > syncRSS+50 {
			syncRSS = r // the heap when RSS is highest
			profile(t, pprofAddr, "heap", filepath.Join(profDir, "heap-sync.pprof"))
			profile(t, pprofAddr, "goroutine", filepath.Join(profDir, "goroutine-sync.pprof"))
		}
		// a failed query (the device busy beyond the retries) still ends its sync
		if synced = countLines(hubLog, `"catalog synced"`) + countLines(hubLog, `"catalog query failed"`); synced >= devices {
			break
		}
		time.Sleep(time.Second)
	}
	t.Logf("catalog syncs: %d of %d done %s after the last registration; hub peak RSS %.0f MB", synced, devices, time.Since(regs[len(regs)-1]).Round(time.Second), peak())
	time.Sleep(10 * time.Second) // info, status and subscriptions settle
	pid := hub.Process.Pid
	if profDir != "" {
		profile(t, pprofAddr, "heap?gc=1", filepath.Join(profDir, "heap-registered.pprof"))
		go profile(t, pprofAddr, fmt.Sprintf("profile?seconds=%d", int(steady.Seconds())-2), filepath.Join(profDir, "cpu-steady.pprof"))
	}
	t0, c0, s0 := time.Now(), cpuTicks(t, pid), cpuTicks(t, sim.Process.Pid)
	maxRSS := 0.0
	for time.Since(t0) < steady {
		maxRSS = max(maxRSS, rssMB(t, pid))
		time.Sleep(time.Second)
	}
	c1, s1, el := cpuTicks(t, pid), cpuTicks(t, sim.Process.Pid), time.Since(t0)
	cpu := float64(c1-c0) / 100 / el.Seconds() * 100 // USER_HZ = 100
	t.Logf("steady state, %d devices, 60 s keepalives, %s window: hub CPU %.2f%% of one core, RSS %.0f MB (max %.0f MB; now %s); gbsim CPU %.2f%%; load average %s",
		devices, el.Round(time.Second), cpu, rssMB(t, pid), maxRSS, rssParts(t, pid), float64(s1-s0)/el.Seconds(), procstat.Loadavg())
	if profDir != "" {
		profile(t, pprofAddr, "heap?gc=1", filepath.Join(profDir, "heap-steady.pprof"))
		profile(t, pprofAddr, "goroutine", filepath.Join(profDir, "goroutine.pprof"))
	}
}

// pprofEnv names the address the profiling build of the hub serves
// net/http/pprof on (not PINGAN_*: the hub rejects unknown ones).
const pprofEnv = "GB_LOADTEST_PPROF_ADDR"

// pprofOverlay writes a `go build -overlay` that adds net/http/pprof to
// this test's build of cmd/pingan only, listening when pprofEnv is set;
// production builds never contain it.
func pprofOverlay(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", "{{.Dir}}", "pingan/cmd/pingan").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	src := filepath.Join(dir, "zz_loadtest_pprof.go")
	code := `package main

import (
	"pingan/internal/loadtest/procstat"
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	if addr := os.Getenv("` + pprofEnv + `"); addr != "" {
		go func() { _ = http.ListenAndServe(addr, nil) }()
	}
}
`
	if err := os.WriteFile(src, []byte(code), 0o600); err != nil {
		t.Fatal(err)
	}
	ov, _ := json.Marshal(map[string]map[string]string{"Replace": {
		filepath.Join(strings.TrimSpace(string(out)), "zz_loadtest_pprof.go"): src,
	}})
	p := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(p, ov, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// profile saves one /debug/pprof/ endpoint of the hub to file.
func profile(t *testing.T, addr, what, file string) {
	res, err := http.Get("http://" + addr + "/debug/pprof/" + what)
	if err != nil {
		t.Logf("pprof %s: %v", what, err)
		return
	}
	defer res.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		t.Logf("pprof %s: %v", what, err)
		return
	}
	defer f.Close()
	_, _ = f.ReadFrom(res.Body)
}

// bestWindow is the most registrations within any window of length w.
func bestWindow(ts []time.Time, w time.Duration) int {
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) > w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

func waitHTTP(url string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}
