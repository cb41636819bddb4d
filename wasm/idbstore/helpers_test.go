//go:build js && wasm

package idbstore

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hack-pad/go-indexeddb/idb"
	"github.com/hack-pad/safejs"

	"github.com/tabraft/tabraft/raft"
)

// testName returns a store name unique to the test (and its subtests),
// and deletes the store when the test ends.
func testName(t testing.TB) string {
	t.Helper()
	name := "test/" + strings.ReplaceAll(t.Name(), "/", "_")
	if err := Delete(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := Delete(context.Background(), name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return name
}

func mustOpen(t testing.TB, name string) *Store {
	t.Helper()
	s, err := Open(context.Background(), name)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	return s
}

func mustClose(t testing.TB, s *Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// reopen closes s and opens its store again.
func reopen(t testing.TB, s *Store) *Store {
	t.Helper()
	mustClose(t, s)
	return mustOpen(t, s.Name())
}

func mustSave(t testing.TB, s interface{ Save(*raft.Ready) error }, rd raft.Ready) {
	t.Helper()
	if err := s.Save(&rd); err != nil {
		t.Fatalf("Save: %v", err)
	}
}

// ents makes entries from..to of the given term with recognizable data.
func ents(from, to, term uint64) []raft.Entry {
	var es []raft.Entry
	for i := from; i <= to; i++ {
		es = append(es, raft.Entry{Index: i, Term: term, Data: fmt.Appendf(nil, "entry %d term %d", i, term)})
	}
	return es
}

// view is everything a Storage returns.
type view struct {
	hard raft.HardState
	conf raft.ConfState
	snap raft.Snapshot
	ents []raft.Entry
}

func viewOf(t testing.TB, s raft.Storage) view {
	t.Helper()
	hs, cs, err := s.InitialState()
	if err != nil {
		t.Fatalf("InitialState: %v", err)
	}
	snap, err := s.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	es, err := s.Entries()
	if err != nil {
		t.Fatalf("Entries: %v", err)
	}
	return view{hs, cs, snap, es}
}

func sameConf(a, b raft.ConfState) bool {
	return slices.Equal(a.Voters, b.Voters) && slices.Equal(a.Learners, b.Learners) &&
		slices.Equal(a.VotersOutgoing, b.VotersOutgoing) && slices.Equal(a.LearnersNext, b.LearnersNext)
}

// diff describes how two views differ ("" if they do not). Empty and nil
// byte slices and node lists are equal.
func (v view) diff(w view) string {
	if v.hard != w.hard {
		return fmt.Sprintf("hard state %+v, want %+v", v.hard, w.hard)
	}
	if !sameConf(v.conf, w.conf) {
		return fmt.Sprintf("conf state %+v, want %+v", v.conf, w.conf)
	}
	if v.snap.Meta.Index != w.snap.Meta.Index || v.snap.Meta.Term != w.snap.Meta.Term ||
		!sameConf(v.snap.Meta.ConfState, w.snap.Meta.ConfState) || !bytes.Equal(v.snap.Data, w.snap.Data) {
		return fmt.Sprintf("snapshot %+v (%d bytes), want %+v (%d bytes)",
			v.snap.Meta, len(v.snap.Data), w.snap.Meta, len(w.snap.Data))
	}
	if len(v.ents) != len(w.ents) {
		return fmt.Sprintf("%d entries %s, want %d %s", len(v.ents), span(v.ents), len(w.ents), span(w.ents))
	}
	for i := range v.ents {
		a, b := v.ents[i], w.ents[i]
		if a.Index != b.Index || a.Term != b.Term || a.Type != b.Type || !bytes.Equal(a.Data, b.Data) {
			return fmt.Sprintf("entry #%d is %d/%d/%v %q, want %d/%d/%v %q", i, a.Index, a.Term, a.Type, a.Data, b.Index, b.Term, b.Type, b.Data)
		}
	}
	return ""
}

func span(es []raft.Entry) string {
	if len(es) == 0 {
		return "[]"
	}
	return fmt.Sprintf("[%d..%d]", es[0].Index, es[len(es)-1].Index)
}

func checkView(t testing.TB, what string, got raft.Storage, want view) {
	t.Helper()
	if d := viewOf(t, got).diff(want); d != "" {
		t.Fatalf("%s: %s", what, d)
	}
}

// raw gives tests direct access to a store's database, to inspect or
// damage it.
type raw struct {
	t  testing.TB
	db *idb.Database
}

func openRaw(t testing.TB, name string) *raw {
	t.Helper()
	env, err := newJSEnv()
	if err != nil {
		t.Fatal(err)
	}
	req, err := env.factory.Open(context.Background(), dbPrefix+name, dbVersion, upgrade)
	if err != nil {
		t.Fatal(err)
	}
	db, err := req.Await(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := &raw{t: t, db: db}
	t.Cleanup(func() { db.Close() })
	return r
}

// do runs f in a readwrite transaction on object store st and waits for it.
func (r *raw) do(st string, f func(*idb.ObjectStore) error) {
	r.t.Helper()
	tx, err := r.db.Transaction(idb.TransactionReadWrite, st)
	if err != nil {
		r.t.Fatal(err)
	}
	os, err := tx.ObjectStore(st)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := f(os); err != nil {
		r.t.Fatal(err)
	}
	if err := tx.Await(context.Background()); err != nil {
		r.t.Fatal(err)
	}
}

func jsValue(t testing.TB, v any) safejs.Value {
	t.Helper()
	switch v := v.(type) {
	case []byte:
		env, err := newJSEnv()
		if err != nil {
			t.Fatal(err)
		}
		a, err := env.bytes(v)
		if err != nil {
			t.Fatal(err)
		}
		return a
	case uint64:
		return key(v)
	}
	jv, err := safejs.ValueOf(v)
	if err != nil {
		t.Fatal(err)
	}
	return jv
}

// put stores value (bytes, a number key's uint64, or any JS-convertible
// value) under k in object store st.
func (r *raw) put(st string, k, value any) {
	r.t.Helper()
	r.do(st, func(os *idb.ObjectStore) error {
		_, err := os.PutKey(safejs.Unsafe(jsValue(r.t, k)), safejs.Unsafe(jsValue(r.t, value)))
		return err
	})
}

func (r *raw) delete(st string, k any) {
	r.t.Helper()
	r.do(st, func(os *idb.ObjectStore) error {
		_, err := os.Delete(safejs.Unsafe(jsValue(r.t, k)))
		return err
	})
}

// get returns the bytes stored under k in st.
func (r *raw) get(st string, k any) []byte {
	r.t.Helper()
	tx, err := r.db.Transaction(idb.TransactionReadOnly, st)
	if err != nil {
		r.t.Fatal(err)
	}
	os, err := tx.ObjectStore(st)
	if err != nil {
		r.t.Fatal(err)
	}
	req, err := os.Get(safejs.Unsafe(jsValue(r.t, k)))
	if err != nil {
		r.t.Fatal(err)
	}
	v, err := req.Await(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	env, err := newJSEnv()
	if err != nil {
		r.t.Fatal(err)
	}
	b, err := env.readBytes(safejs.Safe(v))
	if err != nil {
		r.t.Fatalf("%s[%v]: %v", st, k, err)
	}
	return b
}

// logKeys returns the keys of the entries records.
func (r *raw) logKeys() []uint64 {
	r.t.Helper()
	tx, err := r.db.Transaction(idb.TransactionReadOnly, storeLog)
	if err != nil {
		r.t.Fatal(err)
	}
	os, err := tx.ObjectStore(storeLog)
	if err != nil {
		r.t.Fatal(err)
	}
	req, err := os.GetAllKeys()
	if err != nil {
		r.t.Fatal(err)
	}
	vs, err := req.Await(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	var keys []uint64
	for _, v := range vs {
		k, err := keyIndex(safejs.Safe(v))
		if err != nil {
			r.t.Fatal(err)
		}
		keys = append(keys, k)
	}
	return keys
}

func (r *raw) close() { r.db.Close() }
