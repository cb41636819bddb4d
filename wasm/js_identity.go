//go:build js

package wasm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hack-pad/safejs"
	"github.com/tabraft/tabraft/peer"
	"github.com/tabraft/tabraft/raft"
)

// lockTimeout bounds the wait for the Web Locks API's answer.
const lockTimeout = 3 * time.Second

// errLockHeld says another tab runs the member.
var errLockHeld = errors.New("held by another tab")

// identity picks the member id and takes its Web Lock. An explicit id is
// used as is (refused if another tab runs it). Otherwise, with durable
// storage, the tab's id for room is read from sessionStorage (which
// survives a reload of this tab only) or drawn and stored there; a
// duplicated tab, which copies sessionStorage, finds the id locked and
// draws its own. Without durable storage a new id is drawn every time: a
// member must not come back under an id whose log it lost (it could vote
// twice in one term).
func (rt *jsRuntime) identity(ctx context.Context, log *slog.Logger, room string, explicit raft.NodeID, durable bool) (raft.NodeID, func(), error) {
	if explicit != raft.None {
		release, err := rt.lock(ctx, log, LockName(room, explicit))
		if err != nil {
			return raft.None, nil, fmt.Errorf("member %s: %w", peer.FormatID(explicit), err)
		}
		return explicit, release, nil
	}
	if durable {
		if id, ok := rt.sessionID(room); ok {
			release, err := rt.lock(ctx, log, LockName(room, id))
			if err == nil {
				return id, release, nil
			}
			log.Info("this tab's member id runs in another tab (a duplicated tab?): drawing a new one", "id", peer.FormatID(id), "err", err)
		}
	}
	return rt.newIdentity(ctx, log, room, durable)
}

// newIdentity draws a new member id, takes its Web Lock and, with durable
// storage, keeps it in sessionStorage as this tab's id for room.
func (rt *jsRuntime) newIdentity(ctx context.Context, log *slog.Logger, room string, durable bool) (raft.NodeID, func(), error) {
	for range 8 {
		id := peer.RandomID()
		release, err := rt.lock(ctx, log, LockName(room, id))
		if err != nil {
			continue // drawn twice: draw again
		}
		if durable {
			rt.storeSessionID(log, room, id)
		}
		return id, release, nil
	}
	return raft.None, nil, errors.New("no member id could be locked")
}

// sessionID reads this tab's member id for room from sessionStorage.
func (rt *jsRuntime) sessionID(room string) (raft.NodeID, bool) {
	ss := field(rt.global, "sessionStorage")
	if absent(ss) {
		return raft.None, false
	}
	v, err := ss.Call("getItem", IDKey(room))
	if err != nil || v.Type() != safejs.TypeString {
		return raft.None, false
	}
	s, err := v.String()
	if err != nil {
		return raft.None, false
	}
	id, err := peer.ParseID(s)
	if err != nil || id == raft.None {
		return raft.None, false
	}
	return id, true
}

func (rt *jsRuntime) storeSessionID(log *slog.Logger, room string, id raft.NodeID) {
	ss := field(rt.global, "sessionStorage")
	if absent(ss) {
		log.Warn("no sessionStorage: a reload of this tab will be a new member")
		return
	}
	if _, err := ss.Call("setItem", IDKey(room), peer.FormatID(id)); err != nil {
		log.Warn("cannot keep the member id in sessionStorage", "err", err)
	}
}

// lock takes the Web Lock name without waiting, and returns the function
// that releases it. Where the Web Locks API is missing (pages not served
// from a secure context), it logs a warning and goes on without a lock.
func (rt *jsRuntime) lock(ctx context.Context, log *slog.Logger, name string) (func(), error) {
	locks := field(field(rt.global, "navigator"), "locks")
	if absent(locks) {
		log.Warn("no Web Locks API (not a secure context?): a duplicated tab could run the same member twice")
		return func() {}, nil
	}
	type outcome struct {
		release safejs.Value // resolves the promise that holds the lock
		held    bool
	}
	got := make(chan outcome, 1)
	cb, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		if len(args) == 0 || absent(args[0]) {
			got <- outcome{held: false}
			return nil
		}
		var resolve safejs.Value
		exec, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
			if len(args) > 0 {
				resolve = args[0]
			}
			return nil
		})
		if err != nil {
			got <- outcome{held: false}
			return nil
		}
		defer exec.Release()
		hold, err := rt.promiseCtor.New(exec.Value())
		if err != nil {
			got <- outcome{held: false}
			return nil
		}
		got <- outcome{release: resolve, held: true}
		return hold // the lock is held until it resolves
	})
	if err != nil {
		return nil, err
	}
	opts, err := rt.parse([]byte(`{"ifAvailable":true}`))
	if err != nil {
		cb.Release()
		return nil, err
	}
	if _, err := locks.Call("request", name, opts, cb.Value()); err != nil {
		cb.Release()
		log.Warn("Web Locks API refused the request: going on without a lock", "err", err)
		return func() {}, nil
	}
	timer := time.NewTimer(lockTimeout)
	defer timer.Stop()
	select {
	case o := <-got:
		cb.Release() // called once
		if !o.held {
			return nil, errLockHeld
		}
		return func() { _, _ = o.release.Invoke() }, nil
	case <-timer.C:
		// cb stays: the API may still call it.
		log.Warn("Web Locks API did not answer: going on without a lock")
		return func() {}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
