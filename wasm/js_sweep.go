//go:build js

package wasm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/hack-pad/safejs"

	"github.com/tabraft/tabraft/internal/jspromise"
	"github.com/tabraft/tabraft/peer"
	"github.com/tabraft/tabraft/wasm/idbstore"
)

// staleStoreAge is how long a member's IndexedDB database may go unused
// before another tab of the origin deletes it.
const staleStoreAge = 24 * time.Hour

// usedKey is the localStorage key holding when the database name was last
// opened (milliseconds since the epoch).
func usedKey(name string) string { return "tabraft:used:" + name }

// markUsed records that the database name is opened now.
func (rt *jsRuntime) markUsed(name string, now time.Time) {
	ls := field(rt.global, "localStorage")
	if !absent(ls) {
		_, _ = ls.Call("setItem", usedKey(name), strconv.FormatInt(now.UnixMilli(), 10))
	}
}

// sweepStaleStores deletes the IndexedDB databases of members that no tab
// runs (their Web Lock is free) and that nobody opened for staleStoreAge:
// those of closed tabs, which would otherwise stay forever (a tab's id
// lives in its sessionStorage, gone with the tab). A reloading tab frees
// its lock for a moment, and a tab restored after being closed takes its
// id back, hence the age. A database first seen here without a record of
// its use gets one, and is deleted a day later if still unused. It keeps
// the database own. Best effort: it reports what it could not do.
func (rt *jsRuntime) sweepStaleStores(ctx context.Context, log *slog.Logger, own string, now time.Time) (deleted []string, err error) {
	idb, ls := field(rt.global, "indexedDB"), field(rt.global, "localStorage")
	locks := field(field(rt.global, "navigator"), "locks")
	if absent(idb) || absent(ls) || absent(locks) || absent(field(idb, "databases")) {
		return nil, errors.New("no indexedDB.databases, localStorage or Web Locks here")
	}
	dbs, err := rt.await(ctx, idb, "databases")
	if err != nil {
		return nil, err
	}
	state, err := rt.await(ctx, locks, "query")
	if err != nil {
		return nil, err
	}
	held := map[string]bool{}
	hs := field(state, "held")
	for i := range arrayLen(hs) {
		if n, err := field(index(hs, i), "name").String(); err == nil {
			held[n] = true
		}
	}
	var errs []error
	for i := range arrayLen(dbs) {
		db, err := field(index(dbs, i), "name").String()
		if err != nil {
			continue
		}
		name, ok := idbstore.StoreOf(db)
		if !ok || name == own {
			continue
		}
		cut := strings.LastIndexByte(name, '/')
		if cut < 0 {
			continue
		}
		room, id := name[:cut], name[cut+1:]
		mid, err := peer.ParseID(id)
		if err != nil || idbstore.Name(room, mid) != name || held[LockName(room, mid)] {
			continue // not a member's database, or a tab runs it
		}
		v, err := ls.Call("getItem", usedKey(name))
		var used int64
		if err == nil && v.Type() == safejs.TypeString {
			s, _ := v.String()
			used, _ = strconv.ParseInt(s, 10, 64)
		}
		if used == 0 {
			rt.markUsed(name, now) // first seen: its age counts from now
			continue
		}
		if now.Sub(time.UnixMilli(used)) < staleStoreAge {
			continue
		}
		if err := idbstore.Delete(ctx, name); err != nil {
			errs = append(errs, fmt.Errorf("deleting %q: %w", name, err))
			continue
		}
		_, _ = ls.Call("removeItem", usedKey(name))
		log.Info("deleted the storage of a member no tab has run for a day", "indexeddb", name)
		deleted = append(deleted, name)
	}
	return deleted, errors.Join(errs...)
}

// await calls obj's method, which returns a Promise, and waits for it from
// a goroutine (never from a JavaScript callback).
func (rt *jsRuntime) await(ctx context.Context, obj safejs.Value, method string, args ...any) (safejs.Value, error) {
	p, err := obj.Call(method, args...)
	if err == nil {
		var v safejs.Value
		if v, err = jspromise.Await(ctx.Done(), p); err == nil {
			return v, nil
		}
	}
	return safejs.Undefined(), fmt.Errorf("%s: %w", method, err)
}

// arrayLen is the length of a JavaScript array (0 if it is none).
func arrayLen(v safejs.Value) int {
	n, err := field(v, "length").Int()
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// index is v[i] (undefined if it cannot be read).
func index(v safejs.Value, i int) safejs.Value {
	e, err := v.Index(i)
	if err != nil {
		return safejs.Undefined()
	}
	return e
}
