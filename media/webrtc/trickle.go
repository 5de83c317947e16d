package webrtc

import (
	"fmt"
	"strings"

	pwebrtc "github.com/pion/webrtc/v4"
)

// Trickle ICE for WHIP and WHEP sessions (RFC 9725 §4.3.1): the client
// PATCHes the candidates it gathers after its offer; signaling parses the
// fragment and hands each candidate here.

// AddICECandidate adds a trickled remote candidate of the WHEP viewer (an
// empty candidate marks the end of candidates).
func (s *Session) AddICECandidate(c pwebrtc.ICECandidateInit) error {
	if err := s.pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("webrtc: add candidate: %w", err)
	}
	return nil
}

// RemoteICEUfrag is the ICE username fragment of the viewer's offer.
func (s *Session) RemoteICEUfrag() string { return remoteUfrag(s.pc) }

// RemoteICEUfrag is the ICE username fragment of the publisher's offer.
func (in *Ingest) RemoteICEUfrag() string { return remoteUfrag(in.pc) }

// remoteUfrag reads a=ice-ufrag from the remote description (session or
// first media level); "" when there is none.
func remoteUfrag(pc *pwebrtc.PeerConnection) string {
	rd := pc.RemoteDescription()
	if rd == nil {
		return ""
	}
	for _, line := range strings.Split(rd.SDP, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "a=ice-ufrag:"); ok {
			return v
		}
	}
	return ""
}
