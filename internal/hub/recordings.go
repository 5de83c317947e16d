package hub

import (
	"context"
	"fmt"
	"time"

	"pingan/dispatch"

	"pingan/internal/auth"
	"pingan/media/record"
	"pingan/signaling"
)

// buildRecordings creates the fMP4 recorder and its API. Recordings are
// audited; a finished recording linked to a case is filed as its evidence
// (onRecordingFinished, set by the dispatch wiring).
func (h *Hub) buildRecordings() error {
	rc, err := record.New(record.Config{
		Dir:       h.cfg.Record.Dir,
		MinFreeMB: h.cfg.Record.MinFreeMB,
		Logger:    h.log.With("part", "record"),
	})
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	h.recordings = &signaling.RecordingsAPI{
		Streams:  h.media,
		Access:   h.access,
		Recorder: rc,
		Store:    signaling.NewRecordingStore(h.store),
		Logger:   h.log.With("part", "recordings"),
		OnEvent: func(ctx context.Context, kind string, rec signaling.RecordingMeta) {
			actor := "system"
			if p, ok := signaling.PrincipalFrom(ctx); ok {
				actor = p.Username
			}
			detail := string(rec.Stream)
			if rec.IsRoom() {
				detail = "room " + rec.Room
			}
			_ = h.auth.Audit(context.WithoutCancel(ctx), auth.Entry{Actor: actor, Action: kind, Target: rec.ID,
				Detail: detail})
		},
		OnFinished: h.fileRecording,
	}
	// Recorder.Close runs after the API stopped its recordings (closers run in reverse).
	h.closers = append(h.closers, func() error { rc.Close(); return nil })
	return nil
}

// fileRecording attaches a finished recording linked to a case to the
// case's evidence, with a timeline entry and an event.
func (h *Hub) fileRecording(rec signaling.RecordingMeta) {
	if rec.Case == "" || h.dispatch == nil || rec.State != signaling.RecordingDone {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	system := auth.Principal{Username: "system", Role: auth.RoleAdmin}
	note := string(rec.Stream)
	if rec.Room != "" {
		note = "room " + rec.Room
	}
	if _, err := h.dispatch.AddEvidence(ctx, system, rec.Case, dispatch.Evidence{Kind: "recording", Ref: rec.ID, Note: note}); err != nil {
		h.log.Warn("filing a recording to its case", "recording", rec.ID, "case", rec.Case, "err", err)
	}
}
