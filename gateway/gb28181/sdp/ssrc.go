package sdp

import (
	"fmt"
	"strconv"
)

// SSRC returns the 10-digit y= value (GB/T 28181-2016 annex F): digit 1 is
// 0 for live and 1 for history (playback, download); digits 2–6 are digits
// 4–8 of the 10-digit SIP domain; digits 7–10 are seq mod 10000. A domain
// shorter than 8 characters or containing non-digits contributes 0 for
// each missing or non-digit position, so the result is always 10 digits.
func SSRC(live bool, domain string, seq int) string {
	b := make([]byte, 0, 10)
	if live {
		b = append(b, '0')
	} else {
		b = append(b, '1')
	}
	for i := 3; i < 8; i++ {
		c := byte('0')
		if i < len(domain) && domain[i] >= '0' && domain[i] <= '9' {
			c = domain[i]
		}
		b = append(b, c)
	}
	seq %= 10000
	if seq < 0 {
		seq += 10000
	}
	return fmt.Sprintf("%s%04d", b, seq)
}

// SSRCValue converts a y= string to the RTP SSRC: the decimal value as a
// uint32 ("0107000042" → 0x0660B0EA). It requires exactly 10 digits.
func SSRCValue(y string) (uint32, error) {
	if len(y) != 10 {
		return 0, fmt.Errorf("%w: %q", ErrSSRC, y)
	}
	for i := 0; i < len(y); i++ {
		if y[i] < '0' || y[i] > '9' {
			return 0, fmt.Errorf("%w: %q", ErrSSRC, y)
		}
	}
	v, err := strconv.ParseUint(y, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%w: %q", ErrSSRC, y)
	}
	return uint32(v), nil
}

// SSRCString formats an RTP SSRC as the 10-digit y= value.
func SSRCString(v uint32) string { return fmt.Sprintf("%010d", v) }

// IsLive reports whether a y= value names a live stream (first digit 0).
func IsLive(y string) bool { return len(y) > 0 && y[0] == '0' }
