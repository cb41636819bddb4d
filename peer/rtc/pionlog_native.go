//go:build !js

package rtc

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// pionLoggerFactory sends pion's logs to the transport's logger, at debug
// level: pion reports as errors many events of an ordinary teardown.
type pionLoggerFactory struct{ log *slog.Logger }

func (f pionLoggerFactory) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{f.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) logf(level string, format string, args ...any) {
	if !l.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	l.log.Debug(fmt.Sprintf(format, args...), "pionLevel", level)
}

func (l pionLogger) Trace(string)          {}
func (l pionLogger) Tracef(string, ...any) {}
func (l pionLogger) Debug(string)          {}
func (l pionLogger) Debugf(string, ...any) {}
func (l pionLogger) Info(msg string)       { l.logf("info", "%s", msg) }
func (l pionLogger) Infof(f string, a ...any) {
	l.logf("info", f, a...)
}
func (l pionLogger) Warn(msg string) { l.logf("warn", "%s", msg) }
func (l pionLogger) Warnf(f string, a ...any) {
	l.logf("warn", f, a...)
}
func (l pionLogger) Error(msg string) { l.logf("error", "%s", msg) }
func (l pionLogger) Errorf(f string, a ...any) {
	l.logf("error", f, a...)
}
