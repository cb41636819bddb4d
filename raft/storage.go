package raft

import (
	"fmt"
	"slices"
	"sync"
)

// Storage is where a member's persisted state is read back from when it
// (re)starts. The core reads it once, in NewNode, and keeps its own copy of
// the log in memory from then on; the host writes to it while handling
// Ready (see Ready for the order).
type Storage interface {
	// InitialState returns the persisted hard state and the configuration
	// in force at the snapshot (empty when there is no snapshot).
	InitialState() (HardState, ConfState, error)
	// Snapshot returns the most recent snapshot, or an empty one.
	Snapshot() (Snapshot, error)
	// Entries returns the persisted entries that follow the snapshot, in
	// index order without gaps.
	Entries() ([]Entry, error)
}

// MemoryStorage is a Storage kept in memory, for tests and the simulator.
// It is safe for concurrent use.
type MemoryStorage struct {
	mu   sync.Mutex
	hard HardState
	snap Snapshot
	ents []Entry // entries after snap.Meta.Index, contiguous
}

// NewMemoryStorage returns an empty MemoryStorage.
func NewMemoryStorage() *MemoryStorage { return &MemoryStorage{} }

// InitialState implements Storage.
func (s *MemoryStorage) InitialState() (HardState, ConfState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hard, s.snap.Meta.ConfState, nil
}

// Snapshot implements Storage.
func (s *MemoryStorage) Snapshot() (Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap, nil
}

// Entries implements Storage.
func (s *MemoryStorage) Entries() ([]Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ents), nil
}

// LastIndex returns the index of the last stored entry (or of the snapshot).
func (s *MemoryStorage) LastIndex() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastIndexLocked()
}

func (s *MemoryStorage) lastIndexLocked() uint64 {
	if n := len(s.ents); n > 0 {
		return s.ents[n-1].Index
	}
	return s.snap.Meta.Index
}

// SetHardState replaces the stored hard state.
func (s *MemoryStorage) SetHardState(h HardState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hard = h
}

// Append stores entries, first dropping every stored entry at or after
// entries[0].Index (a leader overwrote them). It fails if entries would
// leave a gap.
func (s *MemoryStorage) Append(entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	first := entries[0].Index
	if first <= s.snap.Meta.Index {
		// Entries covered by the snapshot are already applied everywhere.
		skip := s.snap.Meta.Index + 1 - first
		if skip >= uint64(len(entries)) {
			return nil
		}
		entries = entries[skip:]
		first = entries[0].Index
	}
	if last := s.lastIndexLocked(); first > last+1 {
		return fmt.Errorf("raft: memory storage: append at %d leaves a gap after %d", first, last)
	}
	keep := first - s.snap.Meta.Index - 1
	// In place: nothing aliases s.ents (Entries, Compact and ApplySnapshot
	// copy), and copying the whole log on every append is quadratic.
	s.ents = append(s.ents[:keep], entries...)
	return nil
}

// ApplySnapshot replaces the stored log with snap (entries after the
// snapshot's index that agree with it are kept).
func (s *MemoryStorage) ApplySnapshot(snap Snapshot) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if snap.Meta.Index <= s.snap.Meta.Index {
		return fmt.Errorf("raft: memory storage: snapshot at %d is not newer than %d",
			snap.Meta.Index, s.snap.Meta.Index)
	}
	var rest []Entry
	for i, e := range s.ents {
		if e.Index == snap.Meta.Index && e.Term == snap.Meta.Term {
			rest = slices.Clone(s.ents[i+1:])
			break
		}
	}
	s.snap = snap
	s.ents = rest
	return nil
}

// Compact discards the entries up to and including index, which must be
// covered by snap (taken by the state machine at that index).
func (s *MemoryStorage) Compact(snap Snapshot) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx := snap.Meta.Index
	if idx <= s.snap.Meta.Index {
		return nil
	}
	if idx > s.lastIndexLocked() {
		return fmt.Errorf("raft: memory storage: compact at %d beyond last index %d", idx, s.lastIndexLocked())
	}
	// Keep the capacity: the log grows back to it before the next compaction.
	s.ents = append(make([]Entry, 0, cap(s.ents)), s.ents[idx-s.snap.Meta.Index:]...)
	s.snap = snap
	return nil
}

// Save persists what a Ready asks to persist, in the right order.
func (s *MemoryStorage) Save(rd *Ready) error {
	if !rd.Snapshot.IsEmpty() {
		if err := s.ApplySnapshot(rd.Snapshot); err != nil {
			return err
		}
	}
	if err := s.Append(rd.Entries); err != nil {
		return err
	}
	if !rd.HardState.IsEmpty() {
		s.SetHardState(rd.HardState)
	}
	return nil
}
