package rtpin

import (
	"errors"
	"net"
	"testing"
)

func TestPorts(t *testing.T) {
	p, err := ParsePorts("31100-31103")
	if err != nil {
		t.Fatal(err)
	}
	// Occupy 31101 over TCP only: Acquire must skip it.
	ln, err := net.Listen("tcp", ":31101")
	if err != nil {
		t.Skipf("port busy: %v", err)
	}
	defer ln.Close()
	got := map[int]bool{}
	for range 3 {
		port, err := p.Acquire()
		if err != nil {
			t.Fatal(err)
		}
		got[port] = true
	}
	if got[31101] || len(got) != 3 {
		t.Fatalf("acquired %v", got)
	}
	if _, err := p.Acquire(); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("want ErrNoPorts, got %v", err)
	}
	p.Release(31100)
	if port, err := p.Acquire(); err != nil || port != 31100 {
		t.Fatalf("after release: %d %v", port, err)
	}
}

func TestParsePorts(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"30000-30500", true}, {"30000", true}, {" 1 - 2 ", true},
		{"", false}, {"a-b", false}, {"2-1", false}, {"0-10", false}, {"1-65536", false},
	} {
		_, err := ParsePorts(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParsePorts(%q): %v", tc.in, err)
		}
		if err != nil && !errors.Is(err, ErrBadRange) {
			t.Errorf("ParsePorts(%q): %v is not ErrBadRange", tc.in, err)
		}
	}
}
