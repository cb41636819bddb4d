package sim

import (
	"github.com/tabraft/tabraft/raft"
)

// sent checks a message member m sends, hs being its persisted hard state.
func (c *checker) sent(m int, msg *raft.Message, hs raft.HardState) {
	switch msg.Type {
	case raft.MsgPreVote, raft.MsgPreVoteResp:
		// A pre-vote is about a term not yet entered, and promises nothing.
		return
	}
	if msg.Term > hs.Term {
		c.fail(PersistBeforeSend, "n%d sends %s in term %d with term %d persisted", m+1, msg.Type, msg.Term, hs.Term)
		return
	}
	switch msg.Type {
	// A vote is safe once the persisted state forbids voting otherwise in
	// its term: the vote itself, or a later term.
	case raft.MsgVote:
		if hs.Term == msg.Term && hs.Vote != id(m) {
			c.fail(VoteSafety, "n%d campaigns in term %d with %d/%v persisted as term/vote", m+1, msg.Term, hs.Term, hs.Vote)
		}
	case raft.MsgVoteResp:
		if msg.Reject {
			return
		}
		k := logPos{uint64(m), msg.Term}
		if prev, ok := c.votes[k]; ok && prev != msg.To {
			c.fail(VoteSafety, "n%d votes for n%d and for n%d in term %d", m+1, prev, msg.To, msg.Term)
		}
		c.votes[k] = msg.To
		if hs.Term == msg.Term && hs.Vote != msg.To {
			c.fail(VoteSafety, "n%d grants its vote in term %d to n%d with %d/%v persisted as term/vote", m+1, msg.Term, msg.To, hs.Term, hs.Vote)
		}
	case raft.MsgAppResp:
		// An acknowledgement is a claim about the log in its term. If the
		// member has since moved to a later term, the acknowledged entries
		// may have been legitimately overwritten within the same Ready (as
		// if they had been persisted and then replaced).
		if !msg.Reject && hs.Term == msg.Term && msg.Index > c.members[m].disk.last() {
			c.fail(PersistBeforeSend, "n%d acknowledges index %d with %d entries persisted", m+1, msg.Index, c.members[m].disk.last())
		}
	}
}
