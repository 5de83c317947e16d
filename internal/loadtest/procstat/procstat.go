// Package procstat reads what the load-test harnesses report about a
// process and the machine it runs on: CPU time (getrusage, or
// /proc/<pid>/stat for another process), resident memory
// (/proc/<pid>/status), the machine's idle share (/proc/stat), host UDP
// buffer drops (/proc/net/snmp) and the load average; and it starts a
// harness's child process. It is Linux-only in effect: elsewhere the /proc
// readers return zero values or an error.
//
// It imports nothing of the project; the harnesses under
// media/*/internal/loadtest and gateway/gb28181/internal/loadtest use it.
package procstat

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CPUTime is this process's user+system CPU time.
func CPUTime() time.Duration {
	usr, sys := CPUSplit()
	return usr + sys
}

// CPUSplit is this process's user and system CPU time.
func CPUSplit() (usr, sys time.Duration) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// Status is the memory figures of /proc/<pid>/status, in bytes.
type Status struct {
	VmRSS   int64 // resident set
	RssAnon int64 // its anonymous part (heap, stacks)
	RssFile int64 // its file-backed part (binary, mmapped files)
}

// ReadStatus reads /proc/<pid>/status; pid 0 is this process.
func ReadStatus(pid int) (Status, error) {
	b, err := os.ReadFile(procPath(pid, "status"))
	if err != nil {
		return Status{}, err
	}
	return ParseStatus(b), nil
}

// RSS is this process's resident set in bytes (0 when /proc is absent).
func RSS() int64 {
	st, _ := ReadStatus(0)
	return st.VmRSS
}

// ParseStatus takes the memory lines ("VmRSS:   1234 kB") of a
// /proc/<pid>/status text; missing or malformed lines leave zeros.
func ParseStatus(b []byte) Status {
	var st Status
	for line := range strings.Lines(string(b)) {
		key, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var dst *int64
		switch key {
		case "VmRSS":
			dst = &st.VmRSS
		case "RssAnon":
			dst = &st.RssAnon
		case "RssFile":
			dst = &st.RssFile
		default:
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		if err == nil && kb >= 0 && kb < 1<<53 {
			*dst = kb * 1024
		}
	}
	return st
}

// ReadTicks is the user+system CPU time of pid (0: this process) in clock
// ticks, from /proc/<pid>/stat (usually 100 a second; see getconf CLK_TCK).
func ReadTicks(pid int) (int64, error) {
	b, err := os.ReadFile(procPath(pid, "stat"))
	if err != nil {
		return 0, err
	}
	return ParseTicks(b)
}

// ParseTicks takes utime+stime (fields 14 and 15) of a /proc/<pid>/stat
// line. The command name (field 2) may hold spaces and parentheses, so
// fields are counted from its last ')'.
func ParseTicks(b []byte) (int64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("procstat: stat line without a command name")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 { // state … stime
		return 0, fmt.Errorf("procstat: stat line with %d fields after the name", len(f))
	}
	u, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("procstat: utime: %w", err)
	}
	s, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("procstat: stime: %w", err)
	}
	return u + s, nil
}

// BoxCPU is the machine's idle (idle + iowait) and total jiffies since
// boot (/proc/stat); zeros when it cannot be read.
func BoxCPU() (idle, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	return ParseBoxCPU(b)
}

// ParseBoxCPU takes the first ("cpu  …") line of a /proc/stat text.
func ParseBoxCPU(b []byte) (idle, total uint64) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) == 0 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		total += n
		if i == 3 || i == 4 { // idle, iowait
			idle += n
		}
	}
	return idle, total
}

// UDPDrops is the host's UDP RcvbufErrors + SndbufErrors since boot (IPv4,
// /proc/net/snmp); 0 when it cannot be read.
func UDPDrops() uint64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0
	}
	return ParseUDPDrops(b)
}

// ParseUDPDrops takes RcvbufErrors + SndbufErrors from the two "Udp:"
// lines (names, then values) of a /proc/net/snmp text.
func ParseUDPDrops(b []byte) uint64 {
	var head []string
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if head == nil {
			head = f
			continue
		}
		var n uint64
		for i, name := range head {
			if (name == "RcvbufErrors" || name == "SndbufErrors") && i < len(f) {
				v, _ := strconv.ParseUint(f[i], 10, 64)
				n += v
			}
		}
		return n
	}
	return 0
}

// Loadavg is the machine's 1, 5 and 15 minute load average as
// /proc/loadavg has them ("0.52 0.48 0.40"), or "?".
func Loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// Pct is the p-th percentile of ds (nearest rank, rounded to 100 µs), or
// "-" for none. ds is not reordered.
func Pct(ds []time.Duration, p int) string {
	if len(ds) == 0 {
		return "-"
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[max(0, min(len(ds)-1, len(ds)*p/100))].Round(100 * time.Microsecond).String()
}

func procPath(pid int, name string) string {
	if pid == 0 {
		return "/proc/self/" + name
	}
	return "/proc/" + strconv.Itoa(pid) + "/" + name
}
