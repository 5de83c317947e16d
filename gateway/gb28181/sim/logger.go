package sim

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	gosiplog "github.com/ghettovoice/gosip/log"
)

// sipLogger adapts gosip's logger to slog for thousands of simulated
// devices: it keeps no fields (gosip calls WithFields for every message),
// sends gosip Error to slog Warn and everything below to slog Debug, and
// keeps Panic and Fatal fatal.
type sipLogger struct {
	log    *slog.Logger
	prefix string
}

var _ gosiplog.Logger = sipLogger{}

func (l sipLogger) out(level slog.Level, msg string) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, msg, "sip", l.prefix)
	}
}

func (l sipLogger) debug(args ...any) { l.out(slog.LevelDebug, fmt.Sprint(args...)) }
func (l sipLogger) debugf(f string, args ...any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.out(slog.LevelDebug, fmt.Sprintf(f, args...))
	}
}

func (l sipLogger) Print(args ...any)            { l.debug(args...) }
func (l sipLogger) Printf(f string, args ...any) { l.debugf(f, args...) }
func (l sipLogger) Trace(args ...any)            {}
func (l sipLogger) Tracef(string, ...any)        {}
func (l sipLogger) Debug(args ...any)            { l.debug(args...) }
func (l sipLogger) Debugf(f string, args ...any) { l.debugf(f, args...) }
func (l sipLogger) Info(args ...any)             { l.debug(args...) }
func (l sipLogger) Infof(f string, args ...any)  { l.debugf(f, args...) }
func (l sipLogger) Warn(args ...any)             { l.debug(args...) } // fires on every TCP disconnect
func (l sipLogger) Warnf(f string, args ...any)  { l.debugf(f, args...) }
func (l sipLogger) Error(args ...any)            { l.out(slog.LevelWarn, fmt.Sprint(args...)) }
func (l sipLogger) Errorf(f string, args ...any) { l.out(slog.LevelWarn, fmt.Sprintf(f, args...)) }
func (l sipLogger) Fatal(args ...any)            { l.out(slog.LevelError, fmt.Sprint(args...)); os.Exit(1) }
func (l sipLogger) Fatalf(f string, args ...any) {
	l.out(slog.LevelError, fmt.Sprintf(f, args...))
	os.Exit(1)
}
func (l sipLogger) Panic(args ...any) { s := fmt.Sprint(args...); l.out(slog.LevelError, s); panic(s) }
func (l sipLogger) Panicf(f string, args ...any) {
	s := fmt.Sprintf(f, args...)
	l.out(slog.LevelError, s)
	panic(s)
}
func (l sipLogger) WithPrefix(p string) gosiplog.Logger       { return sipLogger{log: l.log, prefix: p} }
func (l sipLogger) Prefix() string                            { return l.prefix }
func (l sipLogger) WithFields(map[string]any) gosiplog.Logger { return l }
func (l sipLogger) Fields() gosiplog.Fields                   { return gosiplog.Fields{} }
func (l sipLogger) SetLevel(uint32)                           {}
