package sim

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// TestMeasureSockets compares one gosip server per device with shared
// ones (the DefaultDevicesPerSocket choice). It is a measurement, not a
// check: PINGAN_SIM_MEASURE=2000 go test -run MeasureSockets -v ./gateway/gb28181/sim
func TestMeasureSockets(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("PINGAN_SIM_MEASURE"))
	if n == 0 {
		t.Skip("set PINGAN_SIM_MEASURE=<devices>")
	}
	for _, per := range []int{1, DefaultDevicesPerSocket, n} {
		p := newPlatform(t, "udp")
		base := runtime.NumGoroutine()
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		ctx, cancel := context.WithCancel(context.Background())
		cfg := Config{Server: p.addr, PlatformID: testPlatform, DeviceID: testDevice, Password: testPassword,
			LocalIP: "127.0.0.1", Count: n, DevicesPerSocket: per, Keepalive: time.Hour, Logger: testLogger()}
		cfg.RegisterRate, _ = strconv.ParseFloat(os.Getenv("PINGAN_SIM_RATE"), 64)
		done := make(chan error, 1)
		t0 := time.Now()
		go func() { done <- Run(ctx, cfg) }()
		for range n {
			select {
			case <-p.registered:
			case <-time.After(60 * time.Second):
				t.Fatal("registrations stalled")
			}
		}
		took := time.Since(t0)
		var after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&after)
		t.Logf("%d devices, %4d per socket: registered in %v (%.0f/s), +%d goroutines, +%.1f MB heap",
			n, per, took.Round(time.Millisecond), float64(n)/took.Seconds(), runtime.NumGoroutine()-base,
			float64(int64(after.HeapInuse)-int64(before.HeapInuse))/1e6)
		if settle, _ := time.ParseDuration(os.Getenv("PINGAN_SIM_SETTLE")); settle > 0 {
			time.Sleep(settle) // let finished transactions expire (timer J: 32 s)
			runtime.GC()
			runtime.ReadMemStats(&after)
			t.Logf("  after %v: +%d goroutines, +%.1f MB heap", settle, runtime.NumGoroutine()-base,
				float64(int64(after.HeapInuse)-int64(before.HeapInuse))/1e6)
		}
		cancel()
		<-done
		for range n {
			<-p.unregistered
		}
		p.srv.Shutdown()
	}
}
