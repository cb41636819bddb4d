//go:build js && wasm

package idbstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/hack-pad/go-indexeddb/idb"
	"github.com/hack-pad/safejs"

	"github.com/tabraft/tabraft/raft"
)

// loadedRun is one entries record as read back.
type loadedRun struct {
	key  uint64
	ents []raft.Entry
}

// got is the outcome of one read request.
type got struct {
	v   safejs.Value
	err error
}

// load reads the whole store in one read-only transaction, checks that
// it fits together and fills the copy in memory.
func (s *Store) load(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tx, err := s.db.Transaction(idb.TransactionReadOnly, storeMeta, storeLog)
	if err != nil {
		return fmt.Errorf("idbstore: %q: starting the load: %w", s.name, err)
	}
	meta, err := tx.ObjectStore(storeMeta)
	if err != nil {
		return fmt.Errorf("idbstore: %q: object store %s: %w", s.name, storeMeta, err)
	}
	log, err := tx.ObjectStore(storeLog)
	if err != nil {
		return fmt.Errorf("idbstore: %q: object store %s: %w", s.name, storeLog, err)
	}

	// Every listener is in place before this goroutine blocks, so no
	// result can be missed; the transaction answers requests in order.
	get := func(k string) (<-chan got, error) {
		req, err := meta.Get(safejs.Unsafe(stringKey(k)))
		if err != nil {
			return nil, err
		}
		c := make(chan got, 1)
		err = req.Listen(ctx, func() {
			v, err := req.Result()
			c <- got{safejs.Safe(v), err}
		}, func() {
			err := req.Err()
			if err == nil {
				err = errors.New("request failed")
			}
			c <- got{err: err}
		})
		return c, err
	}
	formatC, err := get(keyFormat)
	if err != nil {
		return fmt.Errorf("idbstore: %q: reading the format: %w", s.name, err)
	}
	hardC, err := get(keyHard)
	if err != nil {
		return fmt.Errorf("idbstore: %q: reading the hard state: %w", s.name, err)
	}
	snapC, err := get(keySnap)
	if err != nil {
		return fmt.Errorf("idbstore: %q: reading the snapshot: %w", s.name, err)
	}
	cur, err := log.OpenCursor(idb.CursorNext)
	if err != nil {
		return fmt.Errorf("idbstore: %q: reading the log: %w", s.name, err)
	}
	// The records are decoded once the format is known to be this one.
	type rawRun struct {
		key uint64
		b   []byte
	}
	var raws []rawRun
	err = cur.Iter(ctx, func(c *idb.CursorWithValue) error {
		k, err := c.Key()
		if err != nil {
			return err
		}
		idx, err := keyIndex(safejs.Safe(k))
		if err != nil {
			return s.corrupt("log", "%v", err)
		}
		v, err := c.Value()
		if err != nil {
			return err
		}
		b, err := s.env.readBytes(safejs.Safe(v))
		if err != nil {
			return s.corrupt(fmt.Sprintf("entries at key %d", idx), "%v", err)
		}
		raws = append(raws, rawRun{idx, b})
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrCorrupt) {
			return err
		}
		return fmt.Errorf("idbstore: %q: reading the log: %w", s.name, err)
	}
	if err := ctx.Err(); err != nil {
		// Iter stops without an error when ctx ends: the log read may be partial.
		return fmt.Errorf("idbstore: %q: reading the log: %w", s.name, err)
	}
	wait := func(c <-chan got, what string) (safejs.Value, error) {
		select {
		case g := <-c:
			if g.err != nil {
				return g.v, fmt.Errorf("idbstore: %q: reading the %s: %w", s.name, what, g.err)
			}
			return g.v, nil
		case <-ctx.Done():
			return safejs.Value{}, fmt.Errorf("idbstore: %q: reading the %s: %w", s.name, what, ctx.Err())
		}
	}
	formatV, err := wait(formatC, "format")
	if err != nil {
		return err
	}
	hardV, err := wait(hardC, "hard state")
	if err != nil {
		return err
	}
	snapV, err := wait(snapC, "snapshot")
	if err != nil {
		return err
	}
	empty := hardV.IsUndefined() && snapV.IsUndefined() && len(raws) == 0
	if err := s.checkFormat(formatV, empty); err != nil {
		return err
	}

	var runs []loadedRun
	for _, r := range raws {
		ents, err := decodeRun(r.b)
		if err != nil {
			return s.corrupt(fmt.Sprintf("entries at key %d", r.key), "%v", err)
		}
		runs = append(runs, loadedRun{key: r.key, ents: ents})
	}
	var hard raft.HardState
	if !hardV.IsUndefined() {
		b, err := s.env.readBytes(hardV)
		if err == nil {
			hard, err = decodeHard(b)
		}
		if err != nil {
			return s.corrupt("hard state", "%v", err)
		}
	}
	var snap raft.Snapshot
	if !snapV.IsUndefined() {
		b, err := s.env.readBytes(snapV)
		if err == nil {
			snap, err = decodeSnap(b)
		}
		if err != nil {
			return s.corrupt("snapshot", "%v", err)
		}
	}
	mem, keys, err := s.assemble(hard, snap, runs)
	if err != nil {
		return err
	}
	s.mem, s.runs = mem, keys
	return nil
}

// assemble checks that the records fit together — each entries record
// begins where the one before ended, the first at or before the entry
// after the snapshot, none wholly covered by the snapshot — and builds
// the copy in memory.
func (s *Store) assemble(hard raft.HardState, snap raft.Snapshot, runs []loadedRun) (*raft.MemoryStorage, []uint64, error) {
	snapIndex := snap.Meta.Index
	var ents []raft.Entry
	keys := make([]uint64, 0, len(runs))
	next := uint64(0) // the index the next record must begin at (0: the first)
	for _, r := range runs {
		rec := fmt.Sprintf("entries at key %d", r.key)
		first := r.ents[0].Index
		last := first + uint64(len(r.ents)) - 1
		switch {
		case first != r.key:
			return nil, nil, s.corrupt(rec, "the record holds entries from %d", first)
		case next == 0 && first > snapIndex+1:
			return nil, nil, s.corrupt(rec, "the log begins at %d, after the snapshot at %d", first, snapIndex)
		case next != 0 && first > next:
			return nil, nil, s.corrupt(rec, "entries %d to %d are missing", next, first-1)
		case next != 0 && first < next:
			return nil, nil, s.corrupt(rec, "the record overlaps the one before, which ends at %d", next-1)
		case last <= snapIndex:
			return nil, nil, s.corrupt(rec, "entries %d to %d are covered by the snapshot at %d", first, last, snapIndex)
		}
		for _, e := range r.ents {
			if e.Index > snapIndex {
				ents = append(ents, e)
			}
		}
		keys = append(keys, r.key)
		next = last + 1
	}
	mem := raft.NewMemoryStorage()
	if snapIndex > 0 {
		if err := mem.ApplySnapshot(snap); err != nil {
			return nil, nil, s.corrupt("snapshot", "%v", err)
		}
	}
	if err := mem.Append(ents); err != nil {
		return nil, nil, s.corrupt("log", "%v", err)
	}
	mem.SetHardState(hard)
	return mem, keys, nil
}

func (s *Store) corrupt(record, msg string, args ...any) error {
	return &CorruptError{Name: s.name, Record: record, Reason: fmt.Sprintf(msg, args...)}
}

// checkFormat checks the stored format version v (undefined: the first
// builds', which had no such key). A store of the first builds that holds
// nothing is taken as it is: the next write records the format.
func (s *Store) checkFormat(v safejs.Value, empty bool) error {
	if v.IsUndefined() {
		if empty {
			s.needFormat = true
			return nil
		}
		return fmt.Errorf("%w: %q was written by an older build (format 1), this build reads format %d: delete it (idbstore.Delete) to start afresh",
			ErrUnsupportedFormat, s.name, format)
	}
	if v.Type() != safejs.TypeNumber {
		return s.corrupt("format", "value of type %v, not a number", v.Type())
	}
	f, err := v.Float()
	if err != nil {
		return s.corrupt("format", "%v", err)
	}
	if f != format {
		return fmt.Errorf("%w: %q is in format %v, this build reads format %d", ErrUnsupportedFormat, s.name, f, format)
	}
	return nil
}
