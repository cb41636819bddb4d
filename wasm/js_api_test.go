//go:build js

package wasm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hack-pad/safejs"
	"github.com/tabraft/tabraft/peer"
	"github.com/tabraft/tabraft/raft"
	"github.com/tabraft/tabraft/wasm/idbstore"
)

// jsAPI returns the tabraft object of an API whose members meet in an
// in-memory room, with memory storage.
func jsAPI(t *testing.T) (*jsRuntime, safejs.Value) {
	t.Helper()
	rt, err := newRuntime()
	if err != nil {
		t.Fatal(err)
	}
	room := newMemRoom()
	a := newAPI(rt, func(o Options, _ *slog.Logger) func(context.Context) (Transport, error) { return room.dial(o.ID) },
		func(context.Context, *slog.Logger, bool, string, raft.NodeID) (peer.Storage, error) {
			return raft.NewMemoryStorage(), nil
		})
	obj, err := a.object()
	if err != nil {
		t.Fatal(err)
	}
	return rt, obj
}

// await waits for a Promise (from a test goroutine, not a JavaScript
// callback) and returns its value, or the message of its rejection.
func await(t *testing.T, p safejs.Value) (safejs.Value, error) {
	t.Helper()
	type outcome struct {
		v   safejs.Value
		err error
	}
	done := make(chan outcome, 1)
	ok, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		done <- outcome{v: arg(args, 0)}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ok.Release()
	fail, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		msg, _ := field(arg(args, 0), "message").String()
		done <- outcome{err: errors.New(msg)}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fail.Release()
	if _, err := p.Call("then", ok.Value(), fail.Value()); err != nil {
		t.Fatalf("not a promise: %v", err)
	}
	select {
	case o := <-done:
		return o.v, o.err
	case <-time.After(30 * time.Second):
		t.Fatal("the promise did not settle")
	}
	return safejs.Value{}, nil
}

// call calls obj.name(args...) and awaits the Promise it returns.
func call(t *testing.T, obj safejs.Value, name string, args ...any) (safejs.Value, error) {
	t.Helper()
	p, err := obj.Call(name, args...)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return await(t, p)
}

// must is call failing the test on a rejection.
func must(t *testing.T, obj safejs.Value, name string, args ...any) safejs.Value {
	t.Helper()
	v, err := call(t, obj, name, args...)
	if err != nil {
		t.Fatalf("%s rejected: %v", name, err)
	}
	return v
}

// jsJSON returns JSON.stringify(v).
func jsJSON(t *testing.T, rt *jsRuntime, v safejs.Value) string {
	t.Helper()
	b, err := rt.stringify(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// object parses JSON into a JavaScript object.
func object(t *testing.T, rt *jsRuntime, js string) safejs.Value {
	t.Helper()
	v, err := rt.parse([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestJSMember(t *testing.T) {
	rt, tabraft := jsAPI(t)
	if v, _ := field(tabraft, "version").String(); v == "" {
		t.Error("no version")
	}
	if _, err := call(t, tabraft, "join", object(t, rt, `{"targetVoters": "five"}`)); err == nil || err.Error() != "tabraft: join: targetVoters must be a number" {
		t.Errorf("join with a bad option: %v", err)
	}
	m := must(t, tabraft, "join", object(t, rt, `{"room": "js", "persist": false, "signal": "mem://"}`))
	t.Cleanup(func() { _, _ = call(t, m, "leave") })
	id, _ := field(m, "id").String()
	if room, _ := field(m, "room").String(); room != "js" || id == "" {
		t.Fatalf("member %q of room %q", id, room)
	}

	// Events arrive from microtasks; a callback that throws harms nothing.
	if _, err := rt.global.Call("eval", `globalThis.seen = []`); err != nil {
		t.Fatal(err)
	}
	cb, err := rt.global.Call("eval", `(e => { seen.push(e); throw new Error("a callback that throws") })`)
	if err != nil {
		t.Fatal(err)
	}
	unsub, err := m.Call("on", "applied", cb)
	if err != nil || unsub.Type() != safejs.TypeFunction {
		t.Fatalf("on: %v, %v", unsub, err)
	}
	if bogus, _ := m.Call("on", "bogus", cb); bogus.Type() != safejs.TypeFunction {
		t.Error("on with an unknown event returns no function")
	}

	res := must(t, m, "propose", object(t, rt, `{"op": "set", "key": "3,4", "val": "#e33"}`))
	if got := jsJSON(t, rt, res); got != `{"version":1}` {
		t.Errorf("propose resolved with %s", got)
	}
	for js, want := range map[string]string{
		`{"op": "set", "key": "3,4"}`:         "tabraft: invalid op: val is missing",
		`{"op": "paint", "key": "k"}`:         `tabraft: invalid op: op must be "set", "del" or "clear", not "paint"`,
		`{"op": "del", "key": ""}`:            "tabraft: invalid op: key must have 1 to 256 bytes",
		`{"op": "set", "key": 1, "val": "x"}`: "tabraft: invalid op: key must be a string",
	} {
		if _, err := call(t, m, "propose", object(t, rt, js)); err == nil || err.Error() != want {
			t.Errorf("propose(%s): %v, want %q", js, err, want)
		}
	}
	if _, err := call(t, m, "propose"); err == nil || !strings.HasPrefix(err.Error(), "tabraft: invalid op") {
		t.Errorf("propose(): %v", err)
	}
	batch := must(t, m, "proposeBatch", object(t, rt, `[{"op": "set", "key": "a", "val": "1"}, {"op": "del", "key": "a"}, {"op": "clear"}, {"op": "set", "key": "b", "val": ""}]`))
	if got := jsJSON(t, rt, batch); got != `[{"version":2},{"version":3},{"version":4},{"version":5}]` {
		t.Errorf("proposeBatch resolved with %s", got)
	}
	if v := must(t, m, "read", "b"); v.Type() != safejs.TypeString {
		t.Errorf("read(b) = %v", v)
	}
	if got := jsJSON(t, rt, must(t, m, "read")); got != `{"b":""}` {
		t.Errorf("read() = %s", got)
	}
	cells, err := m.Call("cells")
	if err != nil || jsJSON(t, rt, cells) != `{"b":""}` {
		t.Errorf("cells() = %v, %v", cells, err)
	}

	st := must(t, m, "status")
	var fields []string
	keys, _ := rt.object.Call("keys", st)
	for i := range 30 {
		k, err := keys.Index(i)
		if err != nil || k.IsUndefined() {
			break
		}
		s, _ := k.String()
		fields = append(fields, s)
	}
	want := "id room role term leader commit applied firstIndex lastIndex voters learners progress hash version msgsOutPerSec msgsInPerSec peers disconnected note"
	if got := strings.Join(fields, " "); got != want {
		t.Errorf("status fields:\n%s\nwant\n%s", got, want)
	}
	if role, _ := field(st, "role").String(); role != "leader" {
		t.Errorf("a member alone: role %q", role)
	}

	waitFor(t, "the applied events of five ops", func() bool {
		n, _ := field(field(rt.global, "seen"), "length").Int()
		return n >= 5
	})
	last, _ := rt.global.Call("eval", `JSON.stringify(seen[seen.length - 1])`)
	if s, _ := last.String(); !strings.Contains(s, `"op":{"op":"set","key":"b","val":""},"result":{"version":5}`) {
		t.Errorf("last applied event: %s", s)
	}
	if _, err := unsub.Invoke(); err != nil {
		t.Fatal(err)
	}
	_, _ = unsub.Invoke() // twice is harmless

	// Disconnect and status, stop, restart, then leave.
	if _, err := m.Call("disconnect"); err != nil {
		t.Fatal(err)
	}
	if d, _ := field(must(t, m, "status"), "disconnected").Bool(); !d {
		t.Error("status().disconnected false after disconnect()")
	}
	_, _ = m.Call("reconnect")
	must(t, m, "stop")
	if role, _ := field(must(t, m, "status"), "role").String(); role != "stopped" {
		t.Errorf("role %q after stop()", role)
	}
	if _, err := call(t, m, "propose", object(t, rt, `{"op": "clear"}`)); err == nil || err.Error() != "tabraft: member stopped" {
		t.Errorf("propose on a stopped member: %v", err)
	}
	must(t, m, "restart")
	waitFor(t, "the board rebuilt", func() bool {
		c, _ := m.Call("cells")
		return jsJSON(t, rt, c) == `{"b":""}`
	})
	must(t, m, "recoverAlone")
	waitFor(t, "the recovered member leads", func() bool {
		role, _ := field(must(t, m, "status"), "role").String()
		return role == "leader"
	})
	if c, _ := m.Call("cells"); jsJSON(t, rt, c) != `{"b":""}` {
		t.Errorf("cells after recoverAlone: %s", jsJSON(t, rt, c))
	}
	if _, err := call(t, m, "transferLeadership", 3); err == nil {
		t.Error("transferLeadership(3) accepted a number")
	}
	must(t, m, "leave")
	if _, err := call(t, m, "read"); err == nil || err.Error() != "tabraft: member left" {
		t.Errorf("read after leave: %v", err)
	}
}

// TestJSOldStorageFormat: a tab whose stored log an older build wrote
// (idbstore.ErrUnsupportedFormat) joins as a new member under a new id,
// kept in sessionStorage, rather than failing or reusing the id whose log
// it lost.
func TestJSOldStorageFormat(t *testing.T) {
	rt, err := newRuntime()
	if err != nil {
		t.Fatal(err)
	}
	const room = "old-format"
	old := peer.RandomID()
	if _, err := field(rt.global, "sessionStorage").Call("setItem", IDKey(room), peer.FormatID(old)); err != nil {
		t.Fatal(err)
	}
	mroom := newMemRoom()
	var opened []raft.NodeID
	a := newAPI(rt, func(o Options, _ *slog.Logger) func(context.Context) (Transport, error) { return mroom.dial(o.ID) },
		func(_ context.Context, _ *slog.Logger, _ bool, _ string, id raft.NodeID) (peer.Storage, error) {
			opened = append(opened, id)
			if id == old {
				return nil, fmt.Errorf("opening: %w", idbstore.ErrUnsupportedFormat)
			}
			return raft.NewMemoryStorage(), nil
		})
	tabraft, err := a.object()
	if err != nil {
		t.Fatal(err)
	}
	m := must(t, tabraft, "join", object(t, rt, `{"room": "old-format", "signal": "mem://"}`))
	t.Cleanup(func() { _, _ = call(t, m, "leave") })
	id, _ := field(m, "id").String()
	if id == "" || id == peer.FormatID(old) {
		t.Fatalf("joined as %q; the old id was %s", id, peer.FormatID(old))
	}
	if len(opened) != 2 || opened[0] != old || peer.FormatID(opened[1]) != id {
		t.Errorf("storages opened for %v; want the old id, then %s", opened, id)
	}
	if kept, ok := rt.sessionID(room); !ok || peer.FormatID(kept) != id {
		t.Errorf("sessionStorage keeps %v (%v), want %s", kept, ok, id)
	}
}
