// Package loadtest holds the GB28181 load benchmark (issue 4 item 8): a
// real `pingan serve` process and `pingan gbsim --count N` on loopback. It
// runs only when PINGAN_LOADTEST=1, so `go test ./...` stays fast:
//
//	PINGAN_LOADTEST=1 go test -v -timeout 10m ./gateway/gb28181/internal/loadtest
//
// Knobs: PINGAN_LOADTEST_DEVICES (default 10000), PINGAN_LOADTEST_RATE
// (gbsim --rate, default 0 = all at once), PINGAN_LOADTEST_STEADY (CPU
// sampling window, default 60s), PINGAN_LOADTEST_HUB_BIN and
// PINGAN_LOADTEST_SIM_BIN (run another build of `pingan` as the hub or as
// gbsim, to compare before and after in one go) and
// PINGAN_LOADTEST_PROFILE_DIR (save
// pprof CPU, heap and goroutine profiles of the hub there; the harness
// builds the hub with net/http/pprof through a -overlay, production builds
// never have it). It reports REGISTER+auth per second as the
// hub logged them, and the hub's CPU and RSS at steady state with 60 s
// keepalives; every process it starts is killed when it ends.
package loadtest
