// Package loadtest holds the GB28181 load benchmark (issue 4 item 8): a
// real `pingan serve` process and `pingan gbsim --count N` on loopback. It
// runs only when PINGAN_LOADTEST=1, so `go test ./...` stays fast:
//
//	PINGAN_LOADTEST=1 go test -v -timeout 10m ./gateway/gb28181/internal/loadtest
//
// Knobs: PINGAN_LOADTEST_DEVICES (default 10000), PINGAN_LOADTEST_RATE
// (gbsim --rate, default 0 = all at once), PINGAN_LOADTEST_STEADY (CPU
// sampling window, default 60s). It reports REGISTER+auth per second as the
// hub logged them, and the hub's CPU and RSS at steady state with 60 s
// keepalives; every process it starts is killed when it ends.
package loadtest
