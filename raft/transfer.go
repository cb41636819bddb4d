package raft

import (
	"bytes"
	"errors"
	"fmt"
)

// Leadership transfer (Raft thesis §3.10): the leader stops accepting
// proposals, brings the target's log up to date, then tells it to campaign
// at once (MsgTimeoutNow). The target's vote requests say they come from a
// transfer, so voters grant them even while they still hear the old leader.
// A transfer that has not finished within an election timeout is abandoned.

// ErrInvalidTransfer is returned when the target cannot lead.
var ErrInvalidTransfer = errors.New("raft: invalid leadership transfer target")

// transferContext marks the vote requests of a transfer.
var transferContext = []byte("transfer")

func isTransferVote(m *Message) bool {
	return m.Type == MsgVote && bytes.Equal(m.Context, transferContext)
}

// handleTransferLeader starts a transfer to the member in m.Index (None:
// the most up-to-date voter).
func (r *raft) handleTransferLeader(m Message) error {
	target := NodeID(m.Index)
	if target == None {
		target = r.bestTransferTarget()
		if target == None {
			return fmt.Errorf("%w: no other voter", ErrInvalidTransfer)
		}
	}
	if target == r.id {
		return nil
	}
	if !r.isVoter(target) {
		return fmt.Errorf("%w: %d is not a voter", ErrInvalidTransfer, target)
	}
	if r.leadTransferee == target {
		return nil
	}
	r.leadTransferee = target
	r.electionElapsed = 0 // the transfer gets one election timeout
	pr := r.prs[target]
	if pr.match == r.log.lastIndex() {
		r.send(Message{Type: MsgTimeoutNow, To: target})
		return nil
	}
	r.appendsDirty = true
	return nil
}

// bestTransferTarget returns the voter (other than this member) with the
// longest matching log, the lowest id on ties.
func (r *raft) bestTransferTarget() NodeID {
	best := None
	var bestMatch uint64
	for _, id := range r.peers {
		pr := r.prs[id]
		if !r.isVoter(id) || pr.isLearner {
			continue
		}
		if best == None || pr.match > bestMatch {
			best, bestMatch = id, pr.match
		}
	}
	return best
}

// maybeFinishTransfer sends MsgTimeoutNow once the target caught up.
func (r *raft) maybeFinishTransfer(id NodeID, pr *progress) {
	if r.leadTransferee == id && pr.match == r.log.lastIndex() {
		r.send(Message{Type: MsgTimeoutNow, To: id})
	}
}
