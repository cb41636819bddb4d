package raft

import (
	"encoding/binary"

	"github.com/tabraft/tabraft/raft/quorum"
)

// Linearizable reads without writing to the log (Raft thesis §6.4). A read
// is given the leader's commit index when it arrives, and released once a
// quorum has confirmed, by answering a heartbeat sent after the read
// arrived, that this member still leads. Reads are batched into rounds: one
// heartbeat round confirms every read that arrived before it was sent.
// A new leader admits none before an entry of its own term is committed,
// since only then is its commit index known to cover every committed write.

type readRequest struct {
	ctx   []byte
	from  NodeID // who asked: this member, or a follower that forwarded it
	index uint64
	round uint64
}

// readOnly is the leader's bookkeeping of reads in progress.
type readOnly struct {
	waiting   []readRequest // arrived before the leader committed in its term
	pending   []readRequest // admitted, awaiting their round's confirmation
	sentRound uint64        // last heartbeat round sent
	acks      map[NodeID]uint64
}

// roundAcks adapts round acknowledgements to the quorum package: the
// "index" a member acknowledged is the highest round it answered.
type roundAcks struct {
	self NodeID
	sent uint64
	acks map[NodeID]uint64
}

func (a roundAcks) AckedIndex(id quorum.ID) (uint64, bool) {
	if NodeID(id) == a.self {
		return a.sent, true
	}
	v, ok := a.acks[NodeID(id)]
	return v, ok
}

func encodeRound(round uint64) []byte { return binary.BigEndian.AppendUint64(nil, round) }

func decodeRound(ctx []byte) (uint64, bool) {
	if len(ctx) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(ctx), true
}

func (r *raft) committedInTerm() bool {
	t, _ := r.log.term(r.log.committed)
	return t == r.term
}

// handleReadIndex takes a read request on the leader.
func (r *raft) handleReadIndex(m Message) {
	req := readRequest{ctx: m.Context, from: m.From}
	if req.from == None {
		req.from = r.id
	}
	if !r.committedInTerm() {
		r.ro.waiting = append(r.ro.waiting, req)
		return
	}
	r.admitRead(req)
}

func (r *raft) admitRead(req readRequest) {
	req.index = r.log.committed
	ids := r.voters.IDs()
	soleVoter := len(ids) == 1 && NodeID(ids[0]) == r.id
	// No lease during a transfer: the target may win at once (transfer
	// votes bypass the followers' lease) while we still think we lead.
	lease := r.cfg.ReadOnlyLeaseBased && !r.cfg.DisableCheckQuorum && r.leadTransferee == None
	if soleVoter || lease {
		r.releaseRead(req)
		return
	}
	req.round = r.ro.sentRound + 1
	r.ro.pending = append(r.ro.pending, req)
}

// releaseWaitingReads admits the reads that arrived before the leader
// committed an entry of its term.
func (r *raft) releaseWaitingReads() {
	if len(r.ro.waiting) == 0 || !r.committedInTerm() {
		return
	}
	w := r.ro.waiting
	r.ro.waiting = nil
	for _, req := range w {
		r.admitRead(req)
	}
}

func (r *raft) releaseRead(req readRequest) {
	if req.from == r.id {
		r.readStates = append(r.readStates, ReadState{Index: req.index, Context: req.ctx})
		return
	}
	r.send(Message{Type: MsgReadIndexResp, To: req.from, Index: req.index, Context: req.ctx})
}

// needReadRound reports whether admitted reads wait for a round not yet sent.
func (r *raft) needReadRound() bool {
	n := len(r.ro.pending)
	return n > 0 && r.ro.pending[n-1].round > r.ro.sentRound
}

// sendReadRound starts the heartbeat round that confirms the pending reads.
func (r *raft) sendReadRound() {
	r.ro.sentRound++
	r.bcastHeartbeat()
}

// handleReadAck records a heartbeat answer and releases confirmed reads.
func (r *raft) handleReadAck(from NodeID, ctx []byte) {
	round, ok := decodeRound(ctx)
	if !ok || round > r.ro.sentRound || len(r.ro.pending) == 0 {
		return
	}
	if r.ro.acks == nil {
		r.ro.acks = map[NodeID]uint64{}
	}
	if round <= r.ro.acks[from] {
		return
	}
	r.ro.acks[from] = round
	confirmed := r.voters.CommittedIndex(roundAcks{self: r.id, sent: r.ro.sentRound, acks: r.ro.acks})
	n := 0
	for n < len(r.ro.pending) && r.ro.pending[n].round <= confirmed {
		r.releaseRead(r.ro.pending[n])
		n++
	}
	r.ro.pending = r.ro.pending[n:]
}
