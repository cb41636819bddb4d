//go:build js

package wasm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/hack-pad/safejs"
	"github.com/tabraft/tabraft/peer"
	"github.com/tabraft/tabraft/peer/rtc"
	"github.com/tabraft/tabraft/raft"
	"github.com/tabraft/tabraft/wasm/idbstore"
)

// ReadyHook is the global function the loader (web/tabraft.js) defines
// before it runs the program: Expose calls it, from a microtask, with the
// API object once globalThis.tabraft is set.
const ReadyHook = "__tabraftReady"

// Timeouts of the API's calls that have no timeout of their own.
const (
	joinTimeout    = 30 * time.Second // picking an id, opening the storage, joining the room
	restartTimeout = 30 * time.Second // a new transport joins the room
	leaveTimeout   = 10 * time.Second
	pageHideLeave  = 5 * time.Second // the tab is likely gone before
)

// api is the page's tabraft object: its members, for pagehide.
type api struct {
	rt  *jsRuntime
	log *slog.Logger
	// dial connects a member's transport; open opens its storage (the
	// browser's in Expose, in-memory ones in tests).
	dial func(opts Options, log *slog.Logger) func(context.Context) (Transport, error)
	open func(ctx context.Context, log *slog.Logger, persist bool, room string, id raft.NodeID) (peer.Storage, error)

	mu      sync.Mutex
	members map[*Member]bool
}

// Expose sets globalThis.tabraft to the API of web/tabraft.d.ts, makes the
// page's members leave on pagehide, and tells the loader (ReadyHook).
func Expose() error {
	rt, err := newRuntime()
	if err != nil {
		return err
	}
	a := newAPI(rt, dialRTC, openStorage)
	obj, err := a.object()
	if err != nil {
		return err
	}
	if err := rt.global.Set("tabraft", obj); err != nil {
		return err
	}
	if err := a.onPageHide(); err != nil {
		a.log.Warn("members will not leave when the page goes away", "err", err)
	}
	if err := a.onVisibility(); err != nil {
		a.log.Warn("leaders of a hidden page will not hand over", "err", err)
	}
	if hook := field(rt.global, ReadyHook); hook.Type() == safejs.TypeFunction {
		if err := rt.later(hook, obj); err != nil {
			return fmt.Errorf("calling the loader back: %w", err)
		}
	}
	return nil
}

func newAPI(rt *jsRuntime, dial func(Options, *slog.Logger) func(context.Context) (Transport, error),
	open func(context.Context, *slog.Logger, bool, string, raft.NodeID) (peer.Storage, error)) *api {
	return &api{rt: rt, log: rt.consoleLogger(slog.LevelInfo), dial: dial, open: open, members: map[*Member]bool{}}
}

// dialRTC connects members through the signaling server and WebRTC.
func dialRTC(opts Options, log *slog.Logger) func(context.Context) (Transport, error) {
	return func(ctx context.Context) (Transport, error) {
		return rtc.New(ctx, rtc.Config{ID: opts.ID, SignalURL: opts.Signal, Room: opts.Room, Logger: log})
	}
}

// object builds the frozen tabraft object: version and join.
func (a *api) object() (safejs.Value, error) {
	rt := a.rt
	obj, err := rt.object.New()
	if err != nil {
		return safejs.Value{}, err
	}
	if err := obj.Set("version", version()); err != nil {
		return safejs.Value{}, err
	}
	join, err := rt.function(a.log, "join", a.join)
	if err != nil {
		return safejs.Value{}, err
	}
	if err := obj.Set("join", join.Value()); err != nil {
		return safejs.Value{}, err
	}
	if _, err := rt.object.Call("freeze", obj); err != nil {
		return safejs.Value{}, err
	}
	return obj, nil
}

// onPageHide makes every member hand leadership over when the page goes
// away for good (closed, reloaded, navigated away) — see Member.HandOver
// for why it does not leave. The tab may be gone before the hand-over is
// sent: it is started, not awaited.
func (a *api) onPageHide() error {
	fn, err := a.rt.function(a.log, "pagehide", func(safejs.Value, []safejs.Value) any {
		a.mu.Lock()
		var ms []*Member
		for m := range a.members {
			ms = append(ms, m)
		}
		a.mu.Unlock()
		for _, m := range ms {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), pageHideLeave)
				defer cancel()
				_ = m.HandOver(ctx)
			}()
		}
		return nil
	})
	if err != nil {
		return err
	}
	_, err = a.rt.global.Call("addEventListener", "pagehide", fn.Value())
	return err
}

// sweep records that the database own is in use, and deletes, in the
// background, those of members no tab has run for a day.
func (a *api) sweep(log *slog.Logger, own string) {
	now := time.Now()
	a.rt.markUsed(own, now)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := a.rt.sweepStaleStores(ctx, log, own, now); err != nil {
			log.Debug("sweeping stale storage", "err", err)
		}
	}()
}

// commitFlushInterval is how often a tab writes the commit index its
// store deferred (idbstore skips the transaction of a Save that only
// moves it): a reloaded tab then comes back with the board it showed, at
// most that much older, rather than with the commit index of its last
// write of entries.
const commitFlushInterval = 250 * time.Millisecond

// flushEvery flushes s every interval until s is closed.
func flushEvery(s *idbstore.Store, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for range t.C {
		if err := s.Flush(); errors.Is(err, idbstore.ErrClosed) {
			return
		}
	}
}

// joinArgs are join()'s options, read in the caller's stack.
type joinArgs struct {
	opts     Options
	explicit raft.NodeID
	persist  bool
}

func (a *api) join(_ safejs.Value, args []safejs.Value) any {
	ja, err := a.joinOptions(args)
	if err != nil {
		return a.rt.rejected(fmt.Errorf("join: %w", err))
	}
	return a.rt.promise(func() (any, error) { return a.start(ja) })
}

func (a *api) joinOptions(args []safejs.Value) (joinArgs, error) {
	var ja joinArgs
	o := safejs.Undefined()
	if len(args) > 0 {
		o = args[0]
	}
	if !absent(o) && o.Type() != safejs.TypeObject {
		return ja, errors.New("options must be an object")
	}
	var err error
	var id, level string
	var voters, deadMs int
	if ja.opts.Signal, err = optString(o, "signal", ""); err != nil {
		return ja, err
	}
	if ja.opts.Room, err = optString(o, "room", DefaultRoom); err != nil {
		return ja, err
	}
	if ja.opts.Room == "" {
		return ja, errors.New("room must not be empty")
	}
	if id, err = optString(o, "id", ""); err != nil {
		return ja, err
	}
	if id != "" {
		if ja.explicit, err = peer.ParseID(id); err != nil || ja.explicit == raft.None {
			return ja, fmt.Errorf("id %q is not a member id (lower-case hexadecimal, not 0)", id)
		}
	}
	if ja.persist, err = optBool(o, "persist", true); err != nil {
		return ja, err
	}
	if voters, err = optNumber(o, "targetVoters", DefaultTargetVoters); err != nil {
		return ja, err
	}
	ja.opts.TargetVoters = voters
	if deadMs, err = optNumber(o, "deadTimeoutMs", int(DefaultDeadTimeout/time.Millisecond)); err != nil {
		return ja, err
	}
	ja.opts.DeadTimeout = time.Duration(deadMs) * time.Millisecond
	if level, err = optString(o, "logLevel", "info"); err != nil {
		return ja, err
	}
	if ja.opts.LogLevel, err = ParseLogLevel(level); err != nil {
		return ja, err
	}
	if ja.opts.Signal == "" {
		loc := field(a.rt.global, "location")
		proto, _ := optString(loc, "protocol", "")
		host, _ := optString(loc, "host", "")
		if host == "" {
			return ja, errors.New("no signal URL, and the page has no host to default to")
		}
		ja.opts.Signal = DefaultSignalURL(proto, host)
	}
	ja.opts.Persist = ja.persist
	ja.opts.ID = 1 // checked by withDefaults below; the real id is picked later
	if _, err := ja.opts.withDefaults(); err != nil {
		return ja, err
	}
	ja.opts.ID = raft.None
	return ja, nil
}

// start picks the member's id, opens its storage and joins the room.
func (a *api) start(ja joinArgs) (any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), joinTimeout)
	defer cancel()
	log := a.rt.consoleLogger(ja.opts.LogLevel)
	durable := ja.persist && durableStorage
	id, release, err := a.rt.identity(ctx, log, ja.opts.Room, ja.explicit, durable)
	if err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	store, err := a.open(ctx, log, ja.persist, ja.opts.Room, id)
	if errors.Is(err, idbstore.ErrUnsupportedFormat) && ja.explicit == raft.None {
		// An older build's log, which this one cannot read: the member
		// joins as a new one. Not under the same id: a voter that lost
		// its log could vote twice in one term.
		release()
		log.Warn("this tab's stored log is in an older format: deleting it and joining as a new member", "err", err)
		if derr := idbstore.Delete(ctx, idbstore.Name(ja.opts.Room, id)); derr != nil {
			log.Warn("deleting the old log", "err", derr)
		}
		if id, release, err = a.rt.newIdentity(ctx, log, ja.opts.Room, durable); err != nil {
			return nil, fmt.Errorf("join: %w", err)
		}
		store, err = a.open(ctx, log, ja.persist, ja.opts.Room, id)
	}
	if err != nil {
		release()
		return nil, fmt.Errorf("join: opening the storage: %w", err)
	}
	if durable {
		a.sweep(log, idbstore.Name(ja.opts.Room, id))
		if s, ok := store.(*idbstore.Store); ok {
			go flushEvery(s, commitFlushInterval)
		}
	}
	opts := ja.opts
	opts.ID = id
	var m *Member
	env := Env{
		Logger:  log,
		Storage: store,
		Dial:    a.dial(opts, log),
		OnLeft: func() {
			release()
			a.mu.Lock()
			delete(a.members, m)
			a.mu.Unlock()
		},
	}
	m, err = Join(ctx, opts, env)
	if err != nil {
		if c, ok := store.(io.Closer); ok {
			_ = c.Close()
		}
		release()
		return nil, err
	}
	obj, err := a.memberObject(m, log)
	if err != nil {
		lctx, lcancel := context.WithTimeout(context.Background(), leaveTimeout)
		defer lcancel()
		_ = m.Leave(lctx)
		return nil, fmt.Errorf("join: %w", err)
	}
	a.mu.Lock()
	a.members[m] = true
	a.mu.Unlock()
	log.Info("joined", "signal", opts.Signal, "durable", durable)
	return obj, nil
}
