//go:build js && wasm

package idbstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/hack-pad/go-indexeddb/idb"
	"github.com/hack-pad/safejs"

	"github.com/tabraft/tabraft/peer"
	"github.com/tabraft/tabraft/raft"
)

const (
	dbPrefix  = "tabraft/"
	dbVersion = 1 // the IndexedDB schema version: the object stores below
	storeMeta = "meta"
	storeLog  = "log"
	keyHard   = "hard"
	keySnap   = "snapshot"
	keyFormat = "format"

	// format is the version of the stored values, kept under keyFormat
	// (a number). Version 1, the first builds', had no such key and
	// records of its own; version 2 stores package record's records,
	// the same as peer/filelog's.
	format = 2

	// maxIndex is the largest log index an IndexedDB number key holds exactly.
	maxIndex = 1<<53 - 1

	// runBytes is the encoded size from which a Save's entries are split
	// into several records: values up to 64 KiB are stored inline by
	// Chromium, larger ones as separate blob files.
	runBytes = 48 << 10
)

// ErrClosed is returned by writes to a closed Store.
var ErrClosed = errors.New("idbstore: store is closed")

// ErrUnsupportedFormat is matched (errors.Is) by the error of Open on a
// store written in another format (by another build of tabraft).
var ErrUnsupportedFormat = errors.New("idbstore: unsupported store format")

// ErrCorrupt is matched (errors.Is) by every *CorruptError.
var ErrCorrupt = errors.New("idbstore: corrupt store")

// CorruptError reports stored data that Open cannot make sense of: a
// record that fails its checksum or does not decode, a value that is not
// a record, or records that do not fit together (a gap in the log).
type CorruptError struct {
	Name   string // the store's name, as given to Open
	Record string // which record: "hard state", "snapshot", "entries at key 17", "log"
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("idbstore: corrupt store %q: %s: %s", e.Name, e.Record, e.Reason)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// Name is the store name of a member of a room: several members (tabs)
// of one origin share its IndexedDB, each in a database of its own.
func Name(room string, id raft.NodeID) string { return room + "/" + peer.FormatID(id) }

// StoreOf returns the store name whose IndexedDB database is called db
// (indexedDB.databases() lists those), or false if db is not a store's.
func StoreOf(db string) (string, bool) {
	name, ok := strings.CutPrefix(db, dbPrefix)
	return name, ok && name != ""
}

// Store is a peer.Storage in IndexedDB. Reads are served from a copy in
// memory, loaded by Open; Save and Compact write through, each in one
// IndexedDB transaction, and return once it has completed. It is safe for
// concurrent use, but its writes block until IndexedDB answers: never call
// them from a js.FuncOf callback, where they would deadlock.
type Store struct {
	name string
	env  *jsEnv
	db   *idb.Database
	mem  *raft.MemoryStorage // what IndexedDB holds, for reads

	mu sync.Mutex
	// runs are the keys of the entries records, ascending: record runs[k]
	// holds the entries from index runs[k] up to runs[k+1]-1 (the last
	// one up to the last index). The first may begin at or before the
	// snapshot's index; the entries it holds up to there are ignored.
	runs   []uint64
	buf    []byte
	closed bool
	broken error // memory and IndexedDB disagree: refuse writes
	// pending: the hard state in memory is newer than IndexedDB's (a
	// Save that only moved the commit index was deferred). needFormat:
	// the database has no format key yet. The next write adds either.
	pending    bool
	needFormat bool

	// Knobs for benchmarks: relaxed makes every write use relaxed
	// durability; maxRun is the record size limit (runBytes; 1 stores
	// one entry per record); eager writes a commit-only Save at once.
	relaxed bool
	maxRun  int
	eager   bool
}

var _ peer.Storage = (*Store)(nil)

// Open opens (creating it if needed) the store called name in this
// origin's IndexedDB and loads it. Stored data that does not decode or
// does not fit together fails with a *CorruptError.
func Open(ctx context.Context, name string) (*Store, error) {
	if name == "" {
		return nil, errors.New("idbstore: empty store name")
	}
	env, err := newJSEnv()
	if err != nil {
		return nil, err
	}
	req, err := env.factory.Open(ctx, dbPrefix+name, dbVersion, upgrade)
	if err != nil {
		return nil, fmt.Errorf("idbstore: opening %q: %w", name, err)
	}
	db, err := req.Await(ctx)
	if err != nil {
		return nil, fmt.Errorf("idbstore: opening %q: %w", name, err)
	}
	s := &Store{name: name, env: env, db: db, maxRun: runBytes}
	if err := s.load(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// upgrade creates the object stores of a new database and records its
// format. (go-indexeddb panics if it fails; on a new database it cannot.)
func upgrade(db *idb.Database, oldVersion, _ uint) error {
	if oldVersion >= 1 {
		return nil
	}
	meta, err := db.CreateObjectStore(storeMeta, idb.ObjectStoreOptions{})
	if err != nil {
		return fmt.Errorf("idbstore: creating object store %s: %w", storeMeta, err)
	}
	if _, err := db.CreateObjectStore(storeLog, idb.ObjectStoreOptions{}); err != nil {
		return fmt.Errorf("idbstore: creating object store %s: %w", storeLog, err)
	}
	if _, err := meta.PutKey(safejs.Unsafe(stringKey(keyFormat)), safejs.Unsafe(number(format))); err != nil {
		return fmt.Errorf("idbstore: recording the format: %w", err)
	}
	return nil
}

// Delete deletes the store called name. A Store still open on it is
// closed (its later writes fail).
func Delete(ctx context.Context, name string) error {
	if name == "" {
		return errors.New("idbstore: empty store name")
	}
	env, err := newJSEnv()
	if err != nil {
		return err
	}
	req, err := env.factory.DeleteDatabase(dbPrefix + name)
	if err != nil {
		return fmt.Errorf("idbstore: deleting %q: %w", name, err)
	}
	if err := req.Await(ctx); err != nil {
		return fmt.Errorf("idbstore: deleting %q: %w", name, err)
	}
	return nil
}

// Name returns the name the store was opened with.
func (s *Store) Name() string { return s.name }

// InitialState implements raft.Storage.
func (s *Store) InitialState() (raft.HardState, raft.ConfState, error) {
	return s.mem.InitialState()
}

// Snapshot implements raft.Storage.
func (s *Store) Snapshot() (raft.Snapshot, error) { return s.mem.Snapshot() }

// Entries implements raft.Storage.
func (s *Store) Entries() ([]raft.Entry, error) { return s.mem.Entries() }

// LastIndex returns the index of the last stored entry (or of the snapshot).
func (s *Store) LastIndex() uint64 { return s.mem.LastIndex() }

// Close writes a commit index that Save deferred (see Flush) and closes
// the database connection (after the transactions under way). Reads keep
// answering from memory; writes fail with ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	var errs []error
	if s.pending && s.broken == nil {
		if err := s.flush(); err != nil {
			errs = append(errs, err)
		}
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("idbstore: closing %q: %w", s.name, err))
	}
	return errors.Join(errs...)
}

// Flush writes the commit index of the Saves that Save deferred, if any,
// and returns once IndexedDB has it (with relaxed durability). The next
// write and Close do it anyway.
func (s *Store) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	return s.flush()
}

func (s *Store) flush() error {
	if !s.pending {
		return nil
	}
	hard, _, _ := s.mem.InitialState()
	p := &plan{runs: s.runs}
	p.ops = append(p.ops, op{kind: opPutHard, hard: hard})
	if s.needFormat {
		p.ops = append(p.ops, op{kind: opPutFormat})
	}
	if err := s.write(p); err != nil {
		return fmt.Errorf("idbstore: %q: writing the commit index: %w", s.name, err)
	}
	s.pending, s.needFormat = false, false
	return nil
}

func (s *Store) usable() error {
	if s.closed {
		return ErrClosed
	}
	if s.broken != nil {
		return fmt.Errorf("idbstore: %q unusable: %w", s.name, s.broken)
	}
	return nil
}

// Save persists what a Ready asks to persist — its snapshot, its entries
// (dropping the stored entries from Entries[0].Index on) and its hard
// state — with the semantics of raft.MemoryStorage.Save, atomically in
// one IndexedDB transaction, and returns once that transaction has
// completed. The transaction asks for strict durability (flushed to disk)
// when rd.MustSync or it holds entries, a snapshot, or a new term or vote.
//
// A Ready that only moves the commit index (MustSync false) is not
// written at once: it is kept in memory and written with the next write
// (or Flush, or Close). A transaction costs about a millisecond whatever
// it holds, and Raft does not need the commit index durable: a member
// that restarts with an older one learns the rest from the leader (a
// lone voter commits its whole log again when elected), and peer.Node
// rebuilds its state machine from the snapshot and the committed log.
//
// An invalid Ready (a snapshot not newer than the stored one, entries
// leaving a gap) is refused before anything is written. A failed
// transaction changes nothing: the Store stays usable.
func (s *Store) Save(rd *raft.Ready) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	p, err := s.planSave(rd)
	if err != nil {
		return fmt.Errorf("idbstore: %q: save: %w", s.name, err)
	}
	if len(p.ops) == 0 {
		return nil
	}
	if !p.lazy {
		if err := s.write(p); err != nil {
			return fmt.Errorf("idbstore: %q: save: %w", s.name, err)
		}
	}
	if err := s.mem.Save(rd); err != nil {
		s.broken = fmt.Errorf("internal error: a validated Ready was refused in memory: %w", err)
		return s.broken
	}
	s.runs, s.pending = p.runs, p.lazy
	if !p.lazy {
		s.needFormat = false
	}
	return nil
}

// Compact records snap, a snapshot of the state machine at
// snap.Meta.Index (as returned by raft.Node.Compact), and drops the
// entries it covers, in one transaction with strict durability. A
// snapshot not newer than the stored one is ignored; one beyond the last
// stored entry, or whose term disagrees with the stored entry at its
// index, is refused.
func (s *Store) Compact(snap raft.Snapshot) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	p, err := s.planCompact(snap)
	if err != nil {
		return fmt.Errorf("idbstore: %q: compact: %w", s.name, err)
	}
	if len(p.ops) == 0 {
		return nil
	}
	if err := s.write(p); err != nil {
		return fmt.Errorf("idbstore: %q: compact at %d: %w", s.name, snap.Meta.Index, err)
	}
	if err := s.mem.Compact(snap); err != nil {
		s.broken = fmt.Errorf("internal error: a validated compaction was refused in memory: %w", err)
		return s.broken
	}
	s.runs, s.pending, s.needFormat = p.runs, false, false
	return nil
}

// write runs p's operations in one readwrite transaction and waits for
// it to complete.
func (s *Store) write(p *plan) error {
	dur := idb.DurabilityRelaxed
	if p.strict && !s.relaxed {
		dur = idb.DurabilityStrict
	}
	tx, err := s.db.TransactionWithOptions(idb.TransactionOptions{Mode: idb.TransactionReadWrite, Durability: dur}, storeMeta, storeLog)
	if err != nil {
		return fmt.Errorf("starting a transaction: %w", err)
	}
	if err := s.queue(tx, p); err != nil {
		_ = tx.Abort() // nothing of it is kept; an error here means it already ended
		return err
	}
	if err := tx.Await(context.Background()); err != nil {
		return fmt.Errorf("transaction failed: %w", err)
	}
	return nil
}

// queue places p's requests in tx, in order.
func (s *Store) queue(tx *idb.Transaction, p *plan) error {
	meta, err := tx.ObjectStore(storeMeta)
	if err != nil {
		return fmt.Errorf("object store %s: %w", storeMeta, err)
	}
	log, err := tx.ObjectStore(storeLog)
	if err != nil {
		return fmt.Errorf("object store %s: %w", storeLog, err)
	}
	put := func(st *idb.ObjectStore, k safejs.Value, rec []byte) error {
		if cap(rec) <= 1<<20 {
			s.buf = rec[:0]
		}
		v, err := s.env.bytes(rec)
		if err != nil {
			return err
		}
		_, err = st.PutKey(safejs.Unsafe(k), safejs.Unsafe(v))
		return err
	}
	for _, o := range p.ops {
		var err error
		switch o.kind {
		case opClear:
			_, err = log.Clear()
		case opDeleteBelow, opDeleteFrom:
			var r safejs.Value
			if o.kind == opDeleteBelow {
				r, err = s.env.below(o.index)
			} else {
				r, err = s.env.from(o.index)
			}
			if err == nil {
				_, err = log.Delete(safejs.Unsafe(r))
			}
		case opPutRun:
			err = put(log, key(o.ents[0].Index), encodeRun(s.buf, o.ents))
		case opPutHard:
			err = put(meta, stringKey(keyHard), encodeHard(s.buf, o.hard))
		case opPutSnap:
			err = put(meta, stringKey(keySnap), encodeSnap(s.buf, *o.snap))
		case opPutFormat:
			_, err = meta.PutKey(safejs.Unsafe(stringKey(keyFormat)), safejs.Unsafe(number(format)))
		}
		if err != nil {
			return fmt.Errorf("queueing %v: %w", o.kind, err)
		}
	}
	return nil
}
