package gb28181

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"sync/atomic"

	gosiplog "github.com/ghettovoice/gosip/log"
)

// sipLogger adapts gosip's 22-method logger to slog and keeps it quiet:
// gosip's Trace, Debug and Info become slog Debug, its Warn (which fires on
// every TCP peer disconnect) is Debug too, Error becomes Warn. Panic and
// Fatal keep their meaning: log at Error, then panic or exit.
type sipLogger struct {
	log    *slog.Logger
	prefix string
	// fields are this logger's own; parent's are inherited. WithFields
	// runs several times per SIP message, so it chains rather than copies,
	// and the whole set is only built for a line actually logged.
	fields gosiplog.Fields
	parent *sipLogger
	level  *atomic.Uint32 // gosip level: 0 panic … 6 trace
}

func newSIPLogger(l *slog.Logger) *sipLogger {
	lv := new(atomic.Uint32)
	lv.Store(uint32(gosiplog.WarnLevel))
	if l.Enabled(context.Background(), slog.LevelDebug) {
		lv.Store(uint32(gosiplog.InfoLevel))
	}
	return &sipLogger{log: l, fields: gosiplog.Fields{}, level: lv}
}

// enabled reports whether a gosip message at gl (slog level sl) would be
// logged. The printf methods check it before formatting: gosip passes whole
// SIP messages to Debugf on every send and receive, and formatting them for
// nothing was a tenth of the hub's CPU under load.
func (l *sipLogger) enabled(gl gosiplog.Level, sl slog.Level) bool {
	return uint32(gl) <= l.level.Load() && l.log.Enabled(context.Background(), sl)
}

func (l *sipLogger) emit(gl gosiplog.Level, sl slog.Level, msg string) {
	attrs := make([]any, 0, 2*len(l.fields)+2)
	if l.prefix != "" {
		attrs = append(attrs, "sip", l.prefix)
	}
	for k, v := range l.Fields() {
		if k == "sip_server_ptr" || k == "transport_layer_ptr" || k == "protocol_ptr" || k == "transaction_layer_ptr" {
			continue
		}
		attrs = append(attrs, k, fmt.Sprint(v))
	}
	l.log.Log(context.Background(), sl, msg, attrs...)
}

func (l *sipLogger) Print(args ...any) {
	if l.enabled(gosiplog.InfoLevel, slog.LevelDebug) {
		l.emit(gosiplog.InfoLevel, slog.LevelDebug, fmt.Sprint(args...))
	}
}
func (l *sipLogger) Printf(format string, args ...any) {
	if l.enabled(gosiplog.InfoLevel, slog.LevelDebug) {
		l.emit(gosiplog.InfoLevel, slog.LevelDebug, fmt.Sprintf(format, args...))
	}
}
func (l *sipLogger) Trace(args ...any) {
	if l.enabled(gosiplog.TraceLevel, slog.LevelDebug) {
		l.emit(gosiplog.TraceLevel, slog.LevelDebug, fmt.Sprint(args...))
	}
}
func (l *sipLogger) Tracef(format string, args ...any) {
	if l.enabled(gosiplog.TraceLevel, slog.LevelDebug) {
		l.emit(gosiplog.TraceLevel, slog.LevelDebug, fmt.Sprintf(format, args...))
	}
}
func (l *sipLogger) Debug(args ...any) {
	if l.enabled(gosiplog.DebugLevel, slog.LevelDebug) {
		l.emit(gosiplog.DebugLevel, slog.LevelDebug, fmt.Sprint(args...))
	}
}
func (l *sipLogger) Debugf(format string, args ...any) {
	if l.enabled(gosiplog.DebugLevel, slog.LevelDebug) {
		l.emit(gosiplog.DebugLevel, slog.LevelDebug, fmt.Sprintf(format, args...))
	}
}
func (l *sipLogger) Info(args ...any) {
	if l.enabled(gosiplog.InfoLevel, slog.LevelDebug) {
		l.emit(gosiplog.InfoLevel, slog.LevelDebug, fmt.Sprint(args...))
	}
}
func (l *sipLogger) Infof(format string, args ...any) {
	if l.enabled(gosiplog.InfoLevel, slog.LevelDebug) {
		l.emit(gosiplog.InfoLevel, slog.LevelDebug, fmt.Sprintf(format, args...))
	}
}
func (l *sipLogger) Warn(args ...any) {
	if l.enabled(gosiplog.WarnLevel, slog.LevelDebug) {
		l.emit(gosiplog.WarnLevel, slog.LevelDebug, fmt.Sprint(args...))
	}
}
func (l *sipLogger) Warnf(format string, args ...any) {
	if l.enabled(gosiplog.WarnLevel, slog.LevelDebug) {
		l.emit(gosiplog.WarnLevel, slog.LevelDebug, fmt.Sprintf(format, args...))
	}
}
func (l *sipLogger) Error(args ...any) {
	if l.enabled(gosiplog.ErrorLevel, slog.LevelWarn) {
		l.emit(gosiplog.ErrorLevel, slog.LevelWarn, fmt.Sprint(args...))
	}
}
func (l *sipLogger) Errorf(format string, args ...any) {
	if l.enabled(gosiplog.ErrorLevel, slog.LevelWarn) {
		l.emit(gosiplog.ErrorLevel, slog.LevelWarn, fmt.Sprintf(format, args...))
	}
}

func (l *sipLogger) Fatal(args ...any) { l.Fatalf("%s", fmt.Sprint(args...)) }
func (l *sipLogger) Fatalf(format string, args ...any) {
	l.log.Error(fmt.Sprintf(format, args...), "sip", l.prefix)
	os.Exit(1)
}

func (l *sipLogger) Panic(args ...any) { l.Panicf("%s", fmt.Sprint(args...)) }
func (l *sipLogger) Panicf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.log.Error(msg, "sip", l.prefix)
	panic(msg)
}

func (l *sipLogger) WithPrefix(prefix string) gosiplog.Logger {
	c := *l
	c.prefix = prefix
	return &c
}

func (l *sipLogger) Prefix() string { return l.prefix }

func (l *sipLogger) WithFields(fields map[string]any) gosiplog.Logger {
	if len(fields) == 0 {
		return l
	}
	return &sipLogger{log: l.log, prefix: l.prefix, fields: fields, parent: l, level: l.level}
}

// Fields returns a fresh map of every field, own ones over inherited.
func (l *sipLogger) Fields() gosiplog.Fields {
	if l.parent == nil {
		return maps.Clone(l.fields)
	}
	out := l.parent.Fields()
	if out == nil {
		out = gosiplog.Fields{}
	}
	maps.Copy(out, l.fields)
	return out
}

func (l *sipLogger) SetLevel(level uint32) { l.level.Store(level) }
