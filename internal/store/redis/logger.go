package redis

import (
	"context"
	"fmt"
	"log/slog"

	goredis "github.com/redis/go-redis/v9"
)

// SetLogger sends go-redis's own log lines (failed dials while Redis is
// away) to log at Debug: the store already reports unavailability through
// its errors and /readyz, so one line per failed dial would only be noise.
func SetLogger(log *slog.Logger) {
	goredis.SetLogger(slogPrintf{log})
}

type slogPrintf struct{ log *slog.Logger }

func (l slogPrintf) Printf(ctx context.Context, format string, v ...any) {
	l.log.Debug(fmt.Sprintf(format, v...), "part", "redis")
}
