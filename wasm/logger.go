package wasm

import (
	"context"
	"log/slog"
	"strings"
	"sync"
)

// NewLineHandler returns a slog.Handler that formats each record as a
// line of text, without the time (the console has its own), and hands it
// to out with the record's level: the browser member's logs go to the
// console this way (console.debug, log, warn or error by level).
func NewLineHandler(level slog.Leveler, out func(slog.Level, string)) slog.Handler {
	w := &lineWriter{out: out}
	h := slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
	return &lineHandler{h: h, w: w}
}

// lineWriter receives the lines the text handler writes, one Write per
// record, while lineHandler.Handle holds its lock.
type lineWriter struct {
	mu    sync.Mutex
	level slog.Level // of the record being written
	out   func(slog.Level, string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.out(w.level, strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

type lineHandler struct {
	h slog.Handler
	w *lineWriter
}

func (h *lineHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.h.Enabled(ctx, l) }

func (h *lineHandler) Handle(ctx context.Context, r slog.Record) error {
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	h.w.level = r.Level
	return h.h.Handle(ctx, r)
}

func (h *lineHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &lineHandler{h: h.h.WithAttrs(as), w: h.w}
}

func (h *lineHandler) WithGroup(name string) slog.Handler {
	return &lineHandler{h: h.h.WithGroup(name), w: h.w}
}
