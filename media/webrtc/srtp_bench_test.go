package webrtc

import (
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// BenchmarkSRTPEncrypt compares the SRTP protection profiles on a typical
// video packet (1,200-byte payload) on this CPU; the engine prefers the
// cheapest one browsers support (srtpProfiles).
func BenchmarkSRTPEncrypt(b *testing.B) {
	for _, tc := range []struct {
		name string
		p    srtp.ProtectionProfile
	}{
		{"AEAD_AES_128_GCM", srtp.ProtectionProfileAeadAes128Gcm},
		{"AEAD_AES_256_GCM", srtp.ProtectionProfileAeadAes256Gcm},
		{"AES128_CM_HMAC_SHA1_80", srtp.ProtectionProfileAes128CmHmacSha1_80},
	} {
		b.Run(tc.name, func(b *testing.B) {
			kl, _ := tc.p.KeyLen()
			sl, _ := tc.p.SaltLen()
			c, err := srtp.CreateContext(make([]byte, kl), make([]byte, sl), tc.p)
			if err != nil {
				b.Fatal(err)
			}
			hdr := rtp.Header{Version: 2, PayloadType: 102, SSRC: 1234, Timestamp: 1}
			payload := make([]byte, 1200)
			dst := make([]byte, 0, 1500)
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				hdr.SequenceNumber = uint16(i)
				if dst, err = c.EncryptRTP(dst[:0], payload, &hdr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
