package wasm

import (
	"context"
	"slices"
	"time"

	"github.com/tabraft/tabraft/peer"
	"github.com/tabraft/tabraft/raft"
)

// admitInterval is how often a leading member looks for members to admit.
const admitInterval = 500 * time.Millisecond

// admit is a stopgap membership policy until the peer package has its own
// (peer/autopilot): while this member leads, it adds every member it has a
// link to and that is not in the configuration as a learner, and promotes a
// learner that caught up while there are fewer voters than the target. It
// never removes anyone: members leave by themselves (Leave), and one that
// was removed is not added back for readmitDelay.
func (m *Member) admit(ctx context.Context, r *run) {
	t := time.NewTicker(admitInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st, err := r.node.Status(ctx)
		if err != nil || st.Role != raft.Leader {
			continue
		}
		cs, err := r.node.Members(ctx)
		if err != nil {
			continue
		}
		cc, ok := nextChange(st, cs, r.tr.Connected(), m.store.removedSince(time.Now().Add(-readmitDelay)), m.opts.TargetVoters)
		if !ok {
			continue
		}
		c := cc.Changes[0]
		if err := r.node.ChangeMembers(ctx, cc); err != nil {
			m.log.Debug("membership change refused", "change", c.Type.String(), "member", peer.FormatID(c.Node), "err", err)
			continue
		}
		m.log.Info("membership change proposed", "change", c.Type.String(), "member", peer.FormatID(c.Node))
	}
}

// readmitDelay is how long a member removed from the configuration (one
// that left) is not added back although still linked.
const readmitDelay = 10 * time.Second

// catchUpSlack is how far behind the commit index a replicating learner may
// be and still be promoted.
const catchUpSlack = 64

// nextChange is the admission policy's next step, if any: promote the first
// learner that caught up (while voters < target), else add the first linked
// member that is in no role, and was not just removed, as a learner.
func nextChange(st raft.Status, cs raft.ConfState, connected, removed []raft.NodeID, target int) (raft.ConfChange, bool) {
	if cs.IsJoint() {
		return raft.ConfChange{}, false
	}
	one := func(t raft.ConfChangeType, id raft.NodeID) (raft.ConfChange, bool) {
		return raft.ConfChange{Changes: []raft.ConfChangeSingle{{Type: t, Node: id}}}, true
	}
	if len(cs.Voters) < target {
		learners := slices.Sorted(slices.Values(cs.Learners))
		for _, id := range learners {
			p, ok := st.Progress[id]
			if ok && p.State == "replicate" && p.RecentActive && p.Match+catchUpSlack >= st.Commit {
				return one(raft.AddVoter, id)
			}
		}
	}
	for _, id := range slices.Sorted(slices.Values(connected)) {
		if !isMember(cs, id) && !slices.Contains(removed, id) {
			return one(raft.AddLearner, id)
		}
	}
	return raft.ConfChange{}, false
}
