package gb28181

import (
	"fmt"
	"strings"
)

// DeviceID is a GB/T 28181 20-digit id (§1 of the digest, annex D of the
// standard): centre code (8), industry (2), type (3), network (1), serial (6).
// Devices, channels and platforms all use it.
type DeviceID string

// ParseDeviceID checks that s is exactly 20 decimal digits.
func ParseDeviceID(s string) (DeviceID, error) {
	if len(s) != 20 || !allDigits(s) {
		return "", fmt.Errorf("%w: %q is not 20 digits", ErrBadID, s)
	}
	return DeviceID(s), nil
}

// String returns the id.
func (id DeviceID) String() string { return string(id) }

// Type returns the 3-digit type code (132 IPC, 118 NVR, 200 platform …), or
// "" when the id is not 20 digits.
func (id DeviceID) Type() string {
	if len(id) != 20 {
		return ""
	}
	return string(id[10:13])
}

// Region returns the GB/T 2260 region the id's centre code names: the first
// 8 digits with trailing "00" pairs removed ("51010700…" → "510107",
// "34020000…" → "3402"). It returns "" when the id does not start with digits.
func (id DeviceID) Region() string {
	if len(id) < 8 || !allDigits(string(id[:8])) {
		return ""
	}
	return trimRegion(string(id[:8]))
}

// regionOf picks an item's region: its CivilCode when that is a plausible
// division code (2–9 digits), else the id's centre code.
func regionOf(civilCode string, id DeviceID) string {
	c := strings.TrimSpace(civilCode)
	if len(c) >= 2 && len(c) <= 9 && allDigits(c) {
		if r := trimRegion(c); r != "" {
			return r
		}
	}
	return id.Region()
}

// trimRegion drops trailing "00" pairs from a division code.
func trimRegion(code string) string {
	for len(code) >= 4 && strings.HasSuffix(code, "00") {
		code = code[:len(code)-2]
	}
	if code == "00" {
		return ""
	}
	return code
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// validItemID reports whether a catalog item id is safe to use as part of a
// store key and stream id: 1–32 characters of [0-9A-Za-z_-].
func validItemID(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
