package ptz

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// Command is a decoded PTZCmd, for logging and for the simulated camera.
type Command struct {
	Address     uint16 // 12-bit device address (byte 3 low + byte 7 low nibble)
	Instruction byte
	Data1       byte
	Data2       byte
	Data3       byte // 4 bits
}

// Decode parses a 16-hex-digit PTZCmd and checks its start byte and checksum.
func Decode(cmd string) (Command, error) {
	s := strings.TrimSpace(cmd)
	if len(s) != 16 {
		return Command{}, fmt.Errorf("%w: length %d", ErrMalformed, len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return Command{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if b[0] != 0xA5 || (b[1]&0x0F) != (0xA+0x5+(b[1]>>4))&0x0F {
		return Command{}, fmt.Errorf("%w: bad header % X", ErrMalformed, b[:2])
	}
	var sum byte
	for _, v := range b[:7] {
		sum += v
	}
	if sum != b[7] {
		return Command{}, fmt.Errorf("%w: got %02X want %02X", ErrChecksum, b[7], sum)
	}
	return Command{
		Address:     uint16(b[6]&0x0F)<<8 | uint16(b[2]),
		Instruction: b[3],
		Data1:       b[4],
		Data2:       b[5],
		Data3:       b[6] >> 4,
	}, nil
}

// Action names the command: a movement ("upleft", "zoomin+right", "stop"),
// a lens action, "preset-set" / "preset-goto" / "preset-remove", "aux-on" /
// "aux-off", or "0xNN" for other instructions.
func (c Command) Action() string {
	ins := c.Instruction
	switch {
	case ins == 0:
		return "stop"
	case ins < 0x40:
		var parts []string
		for _, n := range []struct {
			bit  byte
			name string
		}{{bitZoomIn, "zoomin"}, {bitZoomOut, "zoomout"}, {bitUp, "up"}, {bitDown, "down"}, {bitLeft, "left"}, {bitRight, "right"}} {
			if ins&n.bit != 0 {
				parts = append(parts, n.name)
			}
		}
		return joinMove(parts)
	case ins == fiBase:
		return "fistop"
	case ins < 0x50:
		var parts []string
		for _, n := range []struct {
			bit  byte
			name string
		}{{bitFocusFar, "focusfar"}, {bitFocusNear, "focusnear"}, {bitIrisOpen, "irisopen"}, {bitIrisClose, "irisclose"}} {
			if ins&n.bit != 0 {
				parts = append(parts, n.name)
			}
		}
		return strings.Join(parts, "+")
	case ins == insPresetSet:
		return "preset-set"
	case ins == insPresetGoto:
		return "preset-goto"
	case ins == insPresetRemove:
		return "preset-remove"
	case ins == insAuxOn:
		return "aux-on"
	case ins == insAuxOff:
		return "aux-off"
	}
	return fmt.Sprintf("0x%02X", ins)
}

// joinMove writes "up"+"left" as "upleft" (the Encode name) and adds zoom with "+".
func joinMove(parts []string) string {
	var zoom, dir []string
	for _, p := range parts {
		if strings.HasPrefix(p, "zoom") {
			zoom = append(zoom, p)
		} else {
			dir = append(dir, p)
		}
	}
	d := strings.Join(dir, "")
	if d != "" {
		zoom = append(zoom, d)
	}
	return strings.Join(zoom, "+")
}

// String formats the command for logs, e.g. "upleft d1=0x40 d2=0x40 d3=0x0".
func (c Command) String() string {
	if c.Instruction >= insPresetSet && c.Instruction <= insPresetRemove {
		return fmt.Sprintf("%s %d", c.Action(), c.Data2)
	}
	return fmt.Sprintf("%s d1=0x%02X d2=0x%02X d3=0x%X", c.Action(), c.Data1, c.Data2, c.Data3)
}
