package peer

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/tabraft/tabraft/raft"
)

// RecoverAlone turns the stored state of a stopped member into a cluster of
// that member alone, for when every other voter is gone for good and the
// cluster can no longer elect a leader (Node.Health's Note says so). It is
// never done automatically.
//
// What it does: it replays the member's whole stored log onto sm (a fresh
// instance of the state machine) from its snapshot, then stores a snapshot
// of the result one index past its last entry, in a new term, with the
// configuration {id}, and a hard state committing it. Started again from
// st, the member elects itself at once; the autopilot then adds whoever
// is present as learners.
//
// What it keeps: every entry this member had, committed or not — what a
// normal election of this member would have kept (a new leader commits its
// whole log), including writes the old cluster acknowledged before this
// member learnt they were committed. What is lost: writes that never
// reached this member, and membership changes in its log (the
// configuration is now {id}).
//
// The risk: this is a new cluster in the old one's place, under a new
// cluster id. Members of the old cluster that come back with their logs (a
// closed tab's IndexedDB, a native member's disk) hold a different history
// under the same indexes; the new id keeps them out (each side refuses the
// other's messages, raft.ErrForeignCluster), but they are not members of
// this cluster either: wipe their storage so that they join it anew. Two
// of them could elect each other and carry on as the old cluster beside
// this one. Only recover when the others are gone for good.
func RecoverAlone(st Storage, sm StateMachine, id raft.NodeID) (raft.SnapshotMeta, error) {
	if id == raft.None {
		return raft.SnapshotMeta{}, errors.New("peer: recover: no member id")
	}
	hs, _, err := st.InitialState()
	if err != nil {
		return raft.SnapshotMeta{}, fmt.Errorf("peer: recover: reading the hard state: %w", err)
	}
	snap, err := st.Snapshot()
	if err != nil {
		return raft.SnapshotMeta{}, fmt.Errorf("peer: recover: reading the snapshot: %w", err)
	}
	ents, err := st.Entries()
	if err != nil {
		return raft.SnapshotMeta{}, fmt.Errorf("peer: recover: reading the log: %w", err)
	}
	if hs.IsEmpty() && snap.IsEmpty() && len(ents) == 0 {
		return raft.SnapshotMeta{}, errors.New("peer: recover: the storage holds nothing to recover")
	}
	if !snap.IsEmpty() {
		if err := sm.Restore(snap.Data); err != nil {
			return raft.SnapshotMeta{}, fmt.Errorf("peer: recover: restoring snapshot %d: %w", snap.Meta.Index, err)
		}
	}
	lastIndex, lastTerm := snap.Meta.Index, snap.Meta.Term
	for i := range ents {
		e := &ents[i]
		lastIndex, lastTerm = e.Index, e.Term
		if e.Type != raft.EntryNormal || len(e.Data) == 0 {
			continue
		}
		if _, cmd, err := decodeCommand(e.Data); err == nil {
			sm.Apply(cmd)
		}
	}
	image, err := sm.Snapshot()
	if err != nil {
		return raft.SnapshotMeta{}, fmt.Errorf("peer: recover: snapshotting the state machine: %w", err)
	}
	// One index past the log, in a term above any it saw: the new history
	// differs from the old one from this entry on, unmistakably.
	term := max(hs.Term, lastTerm) + 1
	meta := raft.SnapshotMeta{Index: lastIndex + 1, Term: term, ConfState: raft.ConfState{Voters: []raft.NodeID{id}}}
	// A new cluster gets a new id: members of the old one that come back
	// are refused (raft.ErrForeignCluster) rather than mixing their history
	// with this one.
	cluster := hs.Cluster
	for cluster == hs.Cluster {
		cluster = raft.NewClusterID(rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())))
	}
	rd := raft.Ready{
		Snapshot:  raft.Snapshot{Meta: meta, Data: image},
		HardState: raft.HardState{Term: term, Commit: meta.Index, Cluster: cluster},
		MustSync:  true,
	}
	if err := st.Save(&rd); err != nil {
		return raft.SnapshotMeta{}, fmt.Errorf("peer: recover: storing the new configuration: %w", err)
	}
	return meta, nil
}
