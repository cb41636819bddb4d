package wasm

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/tabraft/tabraft/peer"
	"github.com/tabraft/tabraft/raft"
)

// Status is what status() resolves with (web/tabraft.d.ts, Status).
type Status struct {
	ID            string              `json:"id"`
	Room          string              `json:"room"`
	Role          string              `json:"role"`
	Term          uint64              `json:"term"`
	Leader        string              `json:"leader"`
	Commit        uint64              `json:"commit"`
	Applied       uint64              `json:"applied"`
	FirstIndex    uint64              `json:"firstIndex"`
	LastIndex     uint64              `json:"lastIndex"`
	Voters        []string            `json:"voters"`
	Learners      []string            `json:"learners"`
	Joint         *Joint              `json:"joint,omitempty"`
	Progress      map[string]Progress `json:"progress,omitempty"`
	Hash          string              `json:"hash"`
	Version       uint64              `json:"version"`
	MsgsOutPerSec float64             `json:"msgsOutPerSec"`
	MsgsInPerSec  float64             `json:"msgsInPerSec"`
	Peers         []PeerStatus        `json:"peers"`
	Disconnected  bool                `json:"disconnected"`
	Note          string              `json:"note"`
}

// Joint is a joint configuration's two halves of voters.
type Joint struct {
	Outgoing []string `json:"outgoing"`
	Incoming []string `json:"incoming"`
}

// jointOf returns cs's halves, or nil if cs is not joint.
func jointOf(cs raft.ConfState) *Joint {
	if !cs.IsJoint() {
		return nil
	}
	out, in := slices.Sorted(slices.Values(cs.VotersOutgoing)), slices.Sorted(slices.Values(cs.Voters))
	return &Joint{Outgoing: idStrings(out), Incoming: idStrings(in)}
}

// Progress is the leader's view of one member's log.
type Progress struct {
	Match       uint64 `json:"match"`
	Next        uint64 `json:"next"`
	State       string `json:"state"`
	Learner     bool   `json:"learner"`
	LastHeardMs int64  `json:"lastHeardMs"`
}

// PeerStatus is one member of the room.
type PeerStatus struct {
	ID        string `json:"id"`
	Connected bool   `json:"connected"`
}

// JSON returns the status as JSON.
func (s Status) JSON() []byte {
	b, err := json.Marshal(s)
	if err != nil { // cannot happen: plain data
		return []byte("null")
	}
	return b
}

// Status returns the member's state. A stopped member reports its last
// known state with the role "stopped".
func (m *Member) Status(ctx context.Context) (Status, error) {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	m.mu.Lock()
	r, left, last := m.cur, m.left, m.last
	m.mu.Unlock()
	if r != nil {
		st, err := m.runStatus(ctx, r)
		if err == nil {
			return st, nil
		}
		// Stopped meanwhile: report it stopped.
	}
	st := last
	st.ID, st.Room, st.Role, st.Leader = peer.FormatID(m.opts.ID), m.opts.Room, "stopped", ""
	st.Term, st.FirstIndex = m.store.currentTerm(), m.store.firstIndex()
	st.Hash, st.Version = m.sm.Hash(), m.sm.Version()
	st.Progress, st.Peers, st.MsgsInPerSec, st.MsgsOutPerSec = nil, []PeerStatus{}, 0, 0
	st.Voters, st.Learners = nonNil(st.Voters), nonNil(st.Learners)
	st.Disconnected = m.cut.Load()
	st.Note = "stopped: restart() brings it back"
	if left {
		st.Note = "left the cluster"
	}
	return st, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// runStatus is the status of a running node.
func (m *Member) runStatus(ctx context.Context, r *run) (Status, error) {
	rs, err := r.node.Status(ctx)
	if err != nil {
		return Status{}, err
	}
	h, err := r.node.Health(ctx)
	if err != nil {
		return Status{}, err
	}
	cs := h.Members
	ms := membershipOf(cs)
	in, out := r.link.rates()
	connected := r.tr.Connected()
	st := Status{
		ID: peer.FormatID(m.opts.ID), Room: m.opts.Room,
		Role: roleName(rs.Role), Term: rs.Term, Leader: idString(rs.Lead),
		Commit: rs.Commit, Applied: rs.Applied, FirstIndex: m.store.firstIndex(), LastIndex: rs.LastIndex,
		Voters: ms.Voters, Learners: ms.Learners, Joint: jointOf(cs),
		Hash: m.sm.Hash(), Version: m.sm.Version(),
		MsgsInPerSec: in, MsgsOutPerSec: out,
		Peers:        []PeerStatus{},
		Disconnected: m.cut.Load(),
	}
	for _, id := range r.tr.Members() {
		st.Peers = append(st.Peers, PeerStatus{ID: peer.FormatID(id), Connected: slices.Contains(connected, id)})
	}
	if rs.Progress != nil {
		now := time.Now()
		st.Progress = make(map[string]Progress, len(rs.Progress))
		for id, p := range rs.Progress {
			var heard int64
			if id != m.opts.ID {
				d, ok := h.LastHeard[id]
				if !ok {
					d = now.Sub(r.started) // never heard: at least since the run began
				}
				heard = d.Milliseconds()
			}
			st.Progress[peer.FormatID(id)] = Progress{Match: p.Match, Next: p.Next, State: p.State, Learner: p.Learner, LastHeardMs: heard}
		}
	}
	st.Note = h.Note
	if st.Note == "" || st.Disconnected {
		st.Note = note(m.opts.ID, rs, cs, connected, st.Disconnected)
	}
	return st, nil
}

// note explains the member's situation in a sentence.
func note(self raft.NodeID, rs raft.Status, cs raft.ConfState, connected []raft.NodeID, cut bool) string {
	voters := cs.Voters
	switch {
	case cut:
		return "disconnected: every message is dropped until reconnect()"
	case len(voters) == 0 && len(cs.Learners) == 0:
		return "waiting to be added to the cluster by its leader"
	case !isMember(cs, self):
		return "not in the configuration: removed, or waiting to be added"
	case cs.IsJoint():
		return "changing membership (joint configuration)"
	}
	reach := 0
	for _, v := range voters {
		if v == self || slices.Contains(connected, v) {
			reach++
		}
	}
	quorum := len(voters)/2 + 1
	switch {
	case rs.Role == raft.Leader:
		return fmt.Sprintf("leading %d voters and %d learners (%d voters reachable, quorum %d)", len(voters), len(cs.Learners), reach, quorum)
	case rs.Lead != raft.None && slices.Contains(cs.Learners, self):
		return fmt.Sprintf("learner (not voting), following leader %s", peer.FormatID(rs.Lead))
	case rs.Lead != raft.None:
		return fmt.Sprintf("following leader %s", peer.FormatID(rs.Lead))
	case reach < quorum:
		return fmt.Sprintf("no leader: %d of %d voters reachable, a quorum needs %d", reach, len(voters), quorum)
	}
	return fmt.Sprintf("electing a leader (%d of %d voters reachable)", reach, len(voters))
}
