package wasm

import (
	"context"
	"slices"

	"github.com/tabraft/tabraft/raft"
)

// HandOver is what a member does when its page goes away (pagehide: the
// tab closed, reloaded or navigated away): if it leads and another voter
// exists, it hands leadership to the most up-to-date voter, so the cluster
// does not wait an election timeout for it. It does not leave: a reloaded
// tab comes back under the same id within the dead timeout and keeps its
// place, and a closed one is removed by the leader once silent for that
// long. Leaving for good is Leave (the page's leave()).
func (m *Member) HandOver(ctx context.Context) error {
	m.flushStorage()
	r, err := m.current()
	if err != nil {
		return err
	}
	st, err := r.node.Status(ctx)
	if err != nil {
		return err
	}
	if st.Role != raft.Leader {
		return nil
	}
	cs, err := r.node.Members(ctx)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(cs.Voters, func(id raft.NodeID) bool { return id != st.ID }) {
		return nil // the only voter: nobody to hand over to
	}
	return r.node.TransferLeadership(ctx, raft.None)
}

// flushStorage writes what the storage holds back (idbstore defers a
// Save that only moves the commit index to its next write): a page going
// away may never write again, and a reloaded tab then comes back knowing
// its whole commit index.
func (m *Member) flushStorage() {
	f, ok := m.store.Storage.(interface{ Flush() error })
	if !ok {
		return
	}
	if err := f.Flush(); err != nil {
		m.log.Debug("flushing the storage", "err", err)
	}
}
