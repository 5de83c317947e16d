// Package gb28181 is the hub's GB/T 28181 gateway: a SIP server (gosip) on
// sip.addr over UDP and TCP that registers devices with MD5 digest, keeps
// them alive, queries their catalogs into the store, and steers them
// (PTZ, presets, keyframe requests). It imports media, media/ps, the
// internal store and configs — never signaling or dispatch.
//
// Files: server.go (Server, New, Run, handler table), register.go and
// digest.go (REGISTER, RFC 2617 digest, nonces, throttling), message.go
// (MESSAGE/NOTIFY bodies via manscdp), keepalive.go (keepalive, liveness
// sweep), catalog.go and subscription.go (multi-part Catalog, SUBSCRIBE,
// NOTIFY changes), query.go (Query correlation), request.go (outgoing
// requests), registry.go (store layout), devices.go (registry API), ptz.go,
// txrace.go (works around a gosip race that drops instant responses),
// logger.go (gosip → slog).
// Live play: play.go (SourceFactory for "gb/{channel}", device BYE),
// play_session.go (INVITE offer, ACK, answer, BYE, IFameCmd), play_units.go
// (ps.Frame → media.Unit, tracks, PTS), play_ssrc.go (y= sequences),
// provision.go (devices announced before they register).
// Section numbers in comments are GB/T 28181-2016 unless marked "digest"
// (../shared/reference/gb28181.md) or RFC.
//
// # Hooks for live play (invite.go, same package)
//
// An invite.go in this package plays channels without touching the files
// above:
//
//   - ch, dev, err := s.Channel(ctx, channelID): the channel and the device
//     that owns it (INVITE goes to dev; dev.Transport is the media transport
//     udp|tcp-passive|tcp-active chosen per device; s.DefaultTransport()).
//   - req, err := s.NewRequest(sip.INVITE, dev, channelID, "APPLICATION/SDP",
//     sdpBody, Dialog{}): addressed to the device's saved source address over
//     its SIP transport (UDP forced for UDP devices). Add the Subject header
//     ("<channel>:<ssrc>,<platform>:0") with req.AppendHeader.
//   - res, err := s.SIP().RequestWithContext(ctx, req): the final response
//     (cancelling ctx sends CANCEL). The ACK to a 2xx is ours:
//     s.SIP().Send(sip.NewAckRequest("", req, res, "", nil)).
//     For BYE build with s.NewRequest(sip.BYE, dev, channelID, "", nil, dlg)
//     where dlg carries the INVITE's Call-ID, From tag, the 200's To tag and
//     the next CSeq; send with s.Do(ctx, bye).
//   - s.PlatformID(), s.Domain() (SSRC digits 2–6), s.IP() (SDP c= and o=).
//   - s.handleSIP(sip.BYE, h) before Run: device-sent BYE (stream ended);
//     without it BYE and INFO are answered 481. h must answer every request.
//   - s.hookNotify(manscdp.CmdMediaStatus, fn) before Run: end-of-file
//     notifies (NotifyType 121) of playback.
//   - s.KeyframeRequest(ctx, channelID): DeviceControl IFameCmd, for
//     media.Stream.RequestKeyframe.
//   - s.Events(ctx): device.offline ends that device's sessions.
//
// # Load (10,000 devices on one hub)
//
// gosip's transactions are the main cost at scale, so: Keepalive and
// Response MESSAGEs are answered statelessly, before the transaction layer
// (message.go statelessMessage; manscdp.ScanKeepalive reads keepalives
// without an XML tree); other non-INVITE transactions, ours and the
// devices', end txLinger (4 s) after their final response instead of
// gosip's 32 s (server.go endTxLater, request.go doNonInvite); the
// registry keeps each device's decoded record while its stored bytes are
// unchanged (registry.go decodeDevice); and during a burst of REGISTERs
// the after-registration syncs mostly wait (sync.go registerBurst). The
// benchmark is internal/loadtest.
//
// Limitations: the real UDP source port of a device whose Via lacks
// ;rport is not visible through gosip (it uses the Via port), so such a
// device behind NAT is answered at its Via port; devices that register over
// TCP are reached over that connection.
package gb28181
