//go:build js

package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hack-pad/safejs"
	"github.com/tabraft/tabraft/peer"
	"github.com/tabraft/tabraft/peer/board"
	"github.com/tabraft/tabraft/raft"
)

// binding is one member's JavaScript object (web/tabraft.d.ts, Member).
type binding struct {
	rt  *jsRuntime
	m   *Member
	log *slog.Logger

	mu     sync.Mutex
	next   int
	unsubs map[int]func()
}

type method = func(this safejs.Value, args []safejs.Value) any

// memberObject builds the frozen object that stands for m in JavaScript.
func (a *api) memberObject(m *Member, log *slog.Logger) (safejs.Value, error) {
	b := &binding{rt: a.rt, m: m, log: log, unsubs: map[int]func(){}}
	obj, err := a.rt.object.New()
	if err != nil {
		return safejs.Value{}, err
	}
	if err := obj.Set("id", peer.FormatID(m.ID())); err != nil {
		return safejs.Value{}, err
	}
	if err := obj.Set("room", m.Room()); err != nil {
		return safejs.Value{}, err
	}
	// unsubscribe is shared: each on() returns it bound to its subscription,
	// so that subscribing allocates no Go function.
	unsub, err := a.rt.function(log, "unsubscribe", b.unsubscribe)
	if err != nil {
		return safejs.Value{}, err
	}
	methods := []struct {
		name string
		fn   method
	}{
		{"propose", b.propose},
		{"proposeBatch", b.proposeBatch},
		{"read", b.read},
		{"cells", b.cells},
		{"status", b.status},
		{"on", func(this safejs.Value, args []safejs.Value) any { return b.on(unsub.Value(), args) }},
		{"transferLeadership", b.transferLeadership},
		{"disconnect", func(safejs.Value, []safejs.Value) any { m.Disconnect(); return nil }},
		{"reconnect", func(safejs.Value, []safejs.Value) any { m.Reconnect(); return nil }},
		{"stop", b.void(restartTimeout, m.Stop)},
		{"restart", b.void(restartTimeout, m.Restart)},
		{"leave", b.void(leaveTimeout, m.Leave)},
		{"recoverAlone", b.void(leaveTimeout, m.RecoverAlone)},
	}
	for _, mt := range methods {
		f, err := a.rt.function(log, mt.name, mt.fn)
		if err != nil {
			return safejs.Value{}, err
		}
		if err := obj.Set(mt.name, f.Value()); err != nil {
			return safejs.Value{}, err
		}
	}
	if _, err := a.rt.object.Call("freeze", obj); err != nil {
		return safejs.Value{}, err
	}
	return obj, nil
}

func arg(args []safejs.Value, i int) safejs.Value {
	if i < len(args) {
		return args[i]
	}
	return safejs.Undefined()
}

// parsed resolves with JSON made a JavaScript value.
func (b *binding) parsed(data []byte, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return b.rt.parse(data)
}

func (b *binding) propose(_ safejs.Value, args []safejs.Value) any {
	js, err := b.rt.stringify(arg(args, 0))
	if err != nil {
		return b.rt.rejected(fmt.Errorf("%w: %v", ErrInvalidOp, err))
	}
	op, err := ParseOp(js)
	if err != nil {
		return b.rt.rejected(err)
	}
	return b.rt.promise(func() (any, error) {
		res, err := b.m.Propose(context.Background(), op)
		if err != nil {
			return nil, err
		}
		return b.parsed(json.Marshal(res))
	})
}

func (b *binding) proposeBatch(_ safejs.Value, args []safejs.Value) any {
	js, err := b.rt.stringify(arg(args, 0))
	if err != nil {
		return b.rt.rejected(fmt.Errorf("%w: %v", ErrInvalidOp, err))
	}
	cmds, err := ParseBatch(js)
	if err != nil {
		return b.rt.rejected(err)
	}
	return b.rt.promise(func() (any, error) {
		res, err := b.m.proposeCommands(context.Background(), cmds)
		if err != nil {
			return nil, err
		}
		return b.rt.parse(board.EncodeResults(res))
	})
}

func (b *binding) read(_ safejs.Value, args []safejs.Value) any {
	key := arg(args, 0)
	if absent(key) {
		return b.rt.promise(func() (any, error) { return b.parsed(b.m.ReadAllJSON(context.Background())) })
	}
	if key.Type() != safejs.TypeString {
		return b.rt.rejected(errors.New("read: key must be a string"))
	}
	k, err := key.String()
	if err != nil {
		return b.rt.rejected(err)
	}
	return b.rt.promise(func() (any, error) { return b.m.Read(context.Background(), k) })
}

func (b *binding) cells(safejs.Value, []safejs.Value) any {
	v, err := b.rt.parse(b.m.CellsJSON())
	if err != nil {
		b.log.Error("cells", "err", err)
		return safejs.Undefined()
	}
	return v
}

func (b *binding) status(safejs.Value, []safejs.Value) any {
	return b.rt.promise(func() (any, error) {
		st, err := b.m.Status(context.Background())
		if err != nil {
			return nil, err
		}
		return b.parsed(st.JSON(), nil)
	})
}

// on subscribes cb to an event; the callback runs from a microtask with
// the event's payload. It returns unsub bound to the subscription (a
// function that does nothing for an unknown event or a callback that is
// not a function, which are logged).
func (b *binding) on(unsub safejs.Value, args []safejs.Value) any {
	kind, cb := arg(args, 0), arg(args, 1)
	name, _ := kind.String()
	if kind.Type() != safejs.TypeString || kindIndex(name) < 0 {
		b.log.Error("on: unknown event", "event", name, "events", eventKinds)
		return b.bound(unsub, 0)
	}
	if cb.Type() != safejs.TypeFunction {
		b.log.Error("on: the callback is not a function", "event", name)
		return b.bound(unsub, 0)
	}
	cancel, _ := b.m.On(name, func(e Event) {
		v, err := b.rt.parse(e.JSON())
		if err != nil {
			return
		}
		if err := b.rt.later(cb, v); err != nil {
			b.log.Warn("event not delivered", "event", e.Kind, "err", err)
		}
	})
	b.mu.Lock()
	b.next++
	id := b.next
	b.unsubs[id] = cancel
	b.mu.Unlock()
	return b.bound(unsub, id)
}

// bound returns unsub bound to subscription id.
func (b *binding) bound(unsub safejs.Value, id int) any {
	f, err := unsub.Call("bind", safejs.Null(), id)
	if err != nil {
		return safejs.Undefined()
	}
	return f
}

func (b *binding) unsubscribe(_ safejs.Value, args []safejs.Value) any {
	id, err := arg(args, 0).Int()
	if err != nil {
		return nil
	}
	b.mu.Lock()
	cancel := b.unsubs[id]
	delete(b.unsubs, id)
	b.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	return nil
}

func (b *binding) transferLeadership(_ safejs.Value, args []safejs.Value) any {
	to := raft.None
	if v := arg(args, 0); !absent(v) {
		s, err := v.String()
		if v.Type() != safejs.TypeString || err != nil {
			return b.rt.rejected(errors.New("transferLeadership: the target must be a member id"))
		}
		if to, err = peer.ParseID(s); err != nil {
			return b.rt.rejected(fmt.Errorf("transferLeadership: %q is not a member id", s))
		}
	}
	return b.rt.promise(func() (any, error) {
		return safejs.Undefined(), b.m.TransferLeadership(context.Background(), to)
	})
}

// void wraps a method that takes no argument and resolves with nothing.
func (b *binding) void(timeout time.Duration, fn func(context.Context) error) method {
	return func(safejs.Value, []safejs.Value) any {
		return b.rt.promise(func() (any, error) {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			return safejs.Undefined(), fn(ctx)
		})
	}
}
