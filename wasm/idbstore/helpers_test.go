//go:build js && wasm

package idbstore

import (
	"context"
	"strings"
	"testing"

	"github.com/hack-pad/go-indexeddb/idb"
	"github.com/hack-pad/safejs"

	"github.com/tabraft/tabraft/peer/storagetest"
)

// testName returns a store name unique to the test (and its subtests),
// and deletes the store when the test ends.
func testName(t testing.TB) string {
	t.Helper()
	return tempStore(t, "test/"+strings.ReplaceAll(t.Name(), "/", "_"))
}

// tempStore deletes the store called name now and when the test ends.
func tempStore(t testing.TB, name string) string {
	t.Helper()
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

// Shorthands for the shared test helpers.
var (
	ents      = storagetest.Entries
	viewOf    = storagetest.ViewOf
	checkView = storagetest.CheckView
	mustSave  = storagetest.MustSave
	span      = storagetest.Span
)

type view = storagetest.View

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
	env, err := newJSEnv()
	if err != nil {
		r.t.Fatal(err)
	}
	b, err := env.readBytes(r.value(st, k))
	if err != nil {
		r.t.Fatalf("%s[%v]: %v", st, k, err)
	}
	return b
}

// format returns the format version stored, if there is one.
func (r *raw) format() (float64, bool) {
	r.t.Helper()
	v := r.value(storeMeta, keyFormat)
	if v.IsUndefined() {
		return 0, false
	}
	f, err := v.Float()
	if err != nil {
		r.t.Fatal(err)
	}
	return f, true
}

// value returns the value stored under k in st.
func (r *raw) value(st string, k any) safejs.Value {
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
	return safejs.Safe(v)
}

// logKeys returns the keys of the entries records.
func (r *raw) logKeys() []uint64 {
	r.t.Helper()
	return logKeys(r.t, r.db)
}

// logKeys returns the keys of the entries records in db.
func logKeys(t testing.TB, db *idb.Database) []uint64 {
	t.Helper()
	tx, err := db.Transaction(idb.TransactionReadOnly, storeLog)
	if err != nil {
		t.Fatal(err)
	}
	os, err := tx.ObjectStore(storeLog)
	if err != nil {
		t.Fatal(err)
	}
	req, err := os.GetAllKeys()
	if err != nil {
		t.Fatal(err)
	}
	vs, err := req.Await(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var keys []uint64
	for _, v := range vs {
		k, err := keyIndex(safejs.Safe(v))
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	return keys
}

func (r *raw) close() { r.db.Close() }
