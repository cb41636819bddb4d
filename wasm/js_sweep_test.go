//go:build js

package wasm

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tabraft/tabraft/peer"
	"github.com/tabraft/tabraft/wasm/idbstore"
)

// TestSweepStaleStores: of the databases of members of a room, the sweep
// deletes only the one nobody opened for a day and no tab runs; one used
// recently, one whose member runs (its Web Lock held), one never recorded
// (which gets a record) and the sweeping member's own stay.
func TestSweepStaleStores(t *testing.T) {
	rt, err := newRuntime()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	now := time.Now()
	const room = "sweep"
	var names []string
	for range 5 {
		name := idbstore.Name(room, peer.RandomID())
		s, err := idbstore.Open(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
		t.Cleanup(func() { _ = idbstore.Delete(ctx, name) })
	}
	stale, recent, running, unrecorded, own := names[0], names[1], names[2], names[3], names[4]
	ls := field(rt.global, "localStorage")
	old := now.Add(-25 * time.Hour)
	for _, n := range []string{stale, running, own} {
		rt.markUsed(n, old)
	}
	rt.markUsed(recent, now.Add(-time.Hour))
	_, _ = ls.Call("removeItem", usedKey(unrecorded))
	id, _ := peer.ParseID(running[len(room)+1:])
	release, err := rt.lock(ctx, log, LockName(room, id))
	if err != nil {
		t.Fatal(err)
	}
	defer release()

	deleted, err := rt.sweepStaleStores(ctx, log, own, now)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(deleted, []string{stale}) {
		t.Errorf("deleted %v, want [%s]", deleted, stale)
	}
	dbs, err := rt.await(ctx, field(rt.global, "indexedDB"), "databases")
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for i := range arrayLen(dbs) {
		db, _ := field(index(dbs, i), "name").String()
		if n, ok := idbstore.StoreOf(db); ok {
			left = append(left, n)
		}
	}
	for _, n := range []string{recent, running, unrecorded, own} {
		if !slices.Contains(left, n) {
			t.Errorf("%s was deleted", n)
		}
	}
	if slices.Contains(left, stale) {
		t.Errorf("%s is still there", stale)
	}
	v, _ := ls.Call("getItem", usedKey(unrecorded))
	s, _ := v.String()
	if ms, err := strconv.ParseInt(s, 10, 64); err != nil || ms != now.UnixMilli() {
		t.Errorf("the unrecorded database's use: %q, want %d", s, now.UnixMilli())
	}
}
