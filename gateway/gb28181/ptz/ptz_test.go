package ptz

import (
	"errors"
	"testing"
)

// casesEncode is the table of gb28181.md §8 worked examples; it also seeds FuzzDecode.
var casesEncode = []struct {
	name   string
	action string
	speed  uint8
	preset int // >0: use Preset instead of Encode
	want   string
	decode string // Command.Action()
}{
	{"stop", "stop", 0, 0, "A50F0100000000B5", "stop"},
	{"pan right 0x80", "right", 0x80, 0, "A50F010180000036", "right"},
	{"up-left 0x40", "upleft", 0x40, 0, "A50F010A4040003F", "upleft"},
	{"zoom in speed 5", "zoomin", 0x50, 0, "A50F011000005015", "zoomin"},
	{"set preset 3", "set", 0, 3, "A50F018100030039", "preset-set"},
	{"call preset 3", "goto", 0, 3, "A50F01820003003A", "preset-goto"},
	{"focus near 0x60", "focusnear", 0x60, 0, "A50F014260000057", "focusnear"},
	{"iris open 0x60", "irisopen", 0x60, 0, "A50F014400600059", "irisopen"},
	{"stop ignores speed", "STOP", 0xFF, 0, "A50F0100000000B5", "stop"},
	{"down 0x10", "down", 0x10, 0, "", ""}, // no fixed bytes: checked by Decode
}

func TestEncode(t *testing.T) {
	for _, c := range casesEncode {
		t.Run(c.name, func(t *testing.T) {
			var got string
			var err error
			if c.preset > 0 {
				got, err = Preset(c.action, c.preset)
			} else {
				got, err = Encode(c.action, c.speed)
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.decode == "" { // no fixed expectation: just self-consistency
				cmd, err := Decode(got)
				if err != nil || cmd.Data2 != c.speed {
					t.Fatalf("Decode(%s) = %+v, %v", got, cmd, err)
				}
				return
			}
			if got != c.want {
				t.Fatalf("got %s want %s", got, c.want)
			}
			cmd, err := Decode(got)
			if err != nil {
				t.Fatal(err)
			}
			if cmd.Action() != c.decode {
				t.Fatalf("Action() = %q want %q", cmd.Action(), c.decode)
			}
		})
	}
}

func TestAux(t *testing.T) {
	if got := Aux(true, 1); got != "A50F018C01000042" {
		t.Fatalf("wiper on = %s", got)
	}
	c, err := Decode(Aux(false, 1))
	if err != nil || c.Action() != "aux-off" {
		t.Fatalf("%v %v", c, err)
	}
}

func TestErrors(t *testing.T) {
	if _, err := Encode("spin", 1); !errors.Is(err, ErrUnknownAction) {
		t.Fatal(err)
	}
	for _, i := range []int{0, 256, -1} {
		if _, err := Preset("set", i); !errors.Is(err, ErrPresetIndex) {
			t.Fatal(i, err)
		}
	}
	if _, err := Preset("jump", 1); !errors.Is(err, ErrUnknownAction) {
		t.Fatal(err)
	}
	for _, s := range []string{"", "A50F", "A50F0100000000B6", "B50F0100000000C5", "ZZ0F0100000000B5"} {
		if _, err := Decode(s); err == nil {
			t.Fatalf("Decode(%q) accepted", s)
		}
	}
	if _, err := Decode("A50F0100000000B6"); !errors.Is(err, ErrChecksum) {
		t.Fatal(err)
	}
}

func TestDecodeString(t *testing.T) {
	c, _ := Decode("A50F011A4040503F")
	_ = c.String()
	c, err := Decode("A50F01820003003A")
	if err != nil || c.String() != "preset-goto 3" {
		t.Fatalf("%q %v", c.String(), err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, c := range casesEncode {
		if c.want != "" {
			f.Add(c.want)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Decode(s)
		if err != nil {
			return
		}
		_ = c.String()
		// Anything that decodes re-encodes to a valid command of the same action.
		if c.Instruction == insPresetSet && c.Data2 > 0 {
			if _, err := Preset("set", int(c.Data2)); err != nil {
				t.Fatal(err)
			}
		}
	})
}
