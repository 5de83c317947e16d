// Package ptz encodes and decodes the 8-byte PTZCmd carried in a GB28181
// DeviceControl message (GB/T 28181-2016 annex A.3, "前端设备控制协议"):
// pan/tilt/zoom, focus/iris, presets and the auxiliary switch. It is pure
// (no I/O) and imports only the standard library.
//
// Byte layout (GB/T 28181-2016 A.3.1): A5, version+checksum nibble (0F),
// address low byte (01), instruction, data1, data2, data3<<4|address high,
// checksum = sum of bytes 1..7 mod 256. Encoded as 16 uppercase hex digits.
package ptz

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Errors returned by Encode, Preset and Decode.
var (
	ErrUnknownAction = errors.New("ptz: unknown action")
	ErrPresetIndex   = errors.New("ptz: preset index out of range 1..255")
	ErrMalformed     = errors.New("ptz: malformed PTZCmd")
	ErrChecksum      = errors.New("ptz: PTZCmd checksum mismatch")
)

// Instruction bits for the 0x00–0x3F PTZ group (A.3.2).
const (
	bitRight   = 0x01
	bitLeft    = 0x02
	bitDown    = 0x04
	bitUp      = 0x08
	bitZoomIn  = 0x10
	bitZoomOut = 0x20
)

// Instruction bits for the 0x40–0x4F focus/iris group (A.3.3).
const (
	fiBase       = 0x40
	bitFocusFar  = 0x01
	bitFocusNear = 0x02
	bitIrisOpen  = 0x04
	bitIrisClose = 0x08
)

// Preset and auxiliary instruction codes (A.3.4, A.3.7).
const (
	insPresetSet    = 0x81
	insPresetGoto   = 0x82
	insPresetRemove = 0x83
	insAuxOn        = 0x8C
	insAuxOff       = 0x8D
)

// ptzActions maps an action name to (instruction, uses pan speed, uses tilt speed, uses zoom speed).
var ptzActions = map[string]struct {
	ins             byte
	pan, tilt, zoom bool
}{
	"stop":      {0x00, false, false, false},
	"right":     {bitRight, true, false, false},
	"left":      {bitLeft, true, false, false},
	"down":      {bitDown, false, true, false},
	"up":        {bitUp, false, true, false},
	"upleft":    {bitUp | bitLeft, true, true, false},
	"upright":   {bitUp | bitRight, true, true, false},
	"downleft":  {bitDown | bitLeft, true, true, false},
	"downright": {bitDown | bitRight, true, true, false},
	"zoomin":    {bitZoomIn, false, false, true},
	"zoomout":   {bitZoomOut, false, false, true},
}

// fiActions maps focus/iris action names to (instruction, uses data1, uses data2).
var fiActions = map[string]struct {
	ins         byte
	focus, iris bool
}{
	"fistop":    {fiBase, false, false},
	"focusfar":  {fiBase | bitFocusFar, true, false},
	"focusnear": {fiBase | bitFocusNear, true, false},
	"irisopen":  {fiBase | bitIrisOpen, false, true},
	"irisclose": {fiBase | bitIrisClose, false, true},
}

// Encode returns the PTZCmd for a movement action: up, down, left, right,
// upleft, upright, downleft, downright, zoomin, zoomout, stop; and for the
// lens actions focusfar, focusnear, irisopen, irisclose, fistop.
//
// speed is the pan and/or tilt speed (0x00–0xFF) for movements and the
// focus or iris speed for lens actions. Zoom speed is only 4 bits in the
// standard, so zoomin/zoomout use speed>>4 (0x50 → zoom speed 5). Stop
// ignores speed. Action names are case-insensitive.
func Encode(action string, speed uint8) (string, error) {
	a := strings.ToLower(strings.TrimSpace(action))
	if p, ok := ptzActions[a]; ok {
		var d1, d2, d3 byte
		if p.pan {
			d1 = speed
		}
		if p.tilt {
			d2 = speed
		}
		if p.zoom {
			d3 = speed >> 4
		}
		return build(p.ins, d1, d2, d3), nil
	}
	if f, ok := fiActions[a]; ok {
		var d1, d2 byte
		if f.focus {
			d1 = speed
		}
		if f.iris {
			d2 = speed
		}
		return build(f.ins, d1, d2, 0), nil
	}
	return "", fmt.Errorf("%w: %q", ErrUnknownAction, action)
}

// Preset returns the PTZCmd for a preset action: set, goto (alias call) or
// remove (alias delete) with a preset index of 1–255 (A.3.4).
func Preset(action string, index int) (string, error) {
	var ins byte
	switch strings.ToLower(strings.TrimSpace(action)) {
	case "set":
		ins = insPresetSet
	case "goto", "call":
		ins = insPresetGoto
	case "remove", "delete":
		ins = insPresetRemove
	default:
		return "", fmt.Errorf("%w: preset %q", ErrUnknownAction, action)
	}
	if index < 1 || index > 255 {
		return "", fmt.Errorf("%w: %d", ErrPresetIndex, index)
	}
	return build(ins, 0, byte(index), 0), nil
}

// Aux returns the PTZCmd switching auxiliary switch n (1 = wiper) on or off (A.3.7).
func Aux(on bool, n uint8) string {
	if on {
		return build(insAuxOn, n, 0, 0)
	}
	return build(insAuxOff, n, 0, 0)
}

func build(ins, d1, d2, d3 byte) string {
	b := [8]byte{0xA5, 0x0F, 0x01, ins, d1, d2, d3 << 4, 0}
	var sum byte
	for _, v := range b[:7] {
		sum += v
	}
	b[7] = sum
	return strings.ToUpper(hex.EncodeToString(b[:]))
}
