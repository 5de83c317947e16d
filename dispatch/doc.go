// Package dispatch owns the command center's daily work: cases with one code
// (一案一码), their workflow state machine, per-stage deadlines and colours
// (限时办结, 红黄绿) with a scheduler that is safe on several nodes, incidents
// (指挥事件) with summoned departments (吹哨/报到), departments, 12345 and grid
// intake, a global event log with offsets, and statistics.
//
// It holds no HTTP code: signaling calls the Service methods and turns the
// typed errors of errors.go into responses (KindOf / Kind.Status).
//
// dispatch imports only internal/store, internal/auth (Principal, roles,
// scope), configs and the standard library (plus go-qrcode); never media or
// gateway — it stores stream and room ids that signaling resolves
// (deps_test.go enforces it).
//
// Every change is one store.Apply: the versioned record write, its index
// updates and one entry appended to the global log "events"; after the write
// the offset is published on the topic "events" so every node can wake its
// WebSocket readers, which then read the log from their last offset.
package dispatch
