package peer

import (
	"fmt"
	"slices"

	"github.com/tabraft/tabraft/raft"
)

// Roster is implemented by a Transport that knows which members are
// around: the other members of the signaling room for the WebRTC
// transport (rtc.Transport), the other attached members for MemNetwork.
// With Config.Autopilot, the leader adds those that are not in the
// configuration as learners.
type Roster interface {
	// Members returns the other members present, this one excluded.
	Members() []raft.NodeID
}

// HasState reports whether st holds anything of a cluster: a hard state,
// a snapshot or entries. A member without state is new.
func HasState(st raft.Storage) (bool, error) {
	hs, _, err := st.InitialState()
	if err != nil {
		return false, fmt.Errorf("peer: reading the stored state: %w", err)
	}
	snap, err := st.Snapshot()
	if err != nil {
		return false, fmt.Errorf("peer: reading the stored snapshot: %w", err)
	}
	ents, err := st.Entries()
	if err != nil {
		return false, fmt.Errorf("peer: reading the stored entries: %w", err)
	}
	return !hs.IsEmpty() || !snap.IsEmpty() || len(ents) > 0, nil
}

// FoundingVoters decides how member self starts, for raft.Config.Voters:
//
//   - with state in st it restarts from it (nil: the stored configuration
//     rules);
//   - new, alone (roster, the other members present, is empty), it founds
//     the cluster: {self};
//   - new, with others present, it waits to be added as a learner by the
//     cluster's leader (nil), which an autopilot leader does within a few
//     hundred milliseconds.
//
// The roster must be complete when asked: rtc.New returns with the
// room's roster its welcome listed.
//
// The signaling server serializes joins, so of several new members entering
// an empty room together exactly one sees it empty and founds. What this
// cannot tell apart is a room that is empty because the cluster's members
// are all away: a new member then founds a second cluster, and when the old
// members return the room holds two clusters. Their cluster ids keep them
// apart (each leader tries to add the other's members as learners, and
// every member refuses the other cluster's messages: raft.Message.Cluster;
// Node.Health's Note says so), but the room is split for good: the new
// cluster's writes are not the old one's. Give a room whose members may
// all be away at once a durable member (tabraft-peer), or a new room name. The other race: a new member that waits while the
// members it saw all leave before adding it waits alone; Node.Health's Note
// says so, and starting it again (with empty storage) founds.
func FoundingVoters(st raft.Storage, self raft.NodeID, roster []raft.NodeID) ([]raft.NodeID, error) {
	has, err := HasState(st)
	if err != nil || has {
		return nil, err
	}
	if slices.ContainsFunc(roster, func(id raft.NodeID) bool { return id != self && id != raft.None }) {
		return nil, nil
	}
	return []raft.NodeID{self}, nil
}
