package raft

import (
	"errors"
	"fmt"
	"hash/crc32"
)

// Snapshots: the state machine image replaces a prefix of the log. A leader
// whose log no longer holds what a follower needs streams its latest
// snapshot in chunks (Config.SnapshotChunkSize), a bounded window at a time;
// the follower acknowledges the bytes it holds, and a transfer interrupted
// by a lost chunk or a reconnect resumes from the last acknowledged offset.
// The follower installs the image only once every byte arrived and the
// checksum matches, so a half-received snapshot is never applied.

// snapshotWindow is how many chunks may be unacknowledged at once.
const snapshotWindow = 8

// ErrCompactNotApplied is returned by Compact before the state machine has
// applied anything new since the last snapshot.
var ErrCompactNotApplied = errors.New("raft: nothing applied since the last snapshot")

// pendingSnapshot is a snapshot being received, chunk by chunk.
type pendingSnapshot struct {
	meta     SnapshotMeta
	total    uint64
	checksum uint32
	buf      []byte
}

// snapshotInTransfer is the leader's side of one transfer.
type snapshotInTransfer struct {
	snap     *Snapshot
	checksum uint32
	sent     uint64 // next offset to send
	acked    uint64 // bytes the follower confirmed
	// rewoundTo and ackedAtBeat avoid resending the same window for every
	// stale rejection, and detect a stalled transfer at heartbeat time.
	rewoundTo   uint64
	ackedAtBeat uint64
	emptySent   bool // the one message of an empty image went out
}

func (r *raft) snapshotChecksum() uint32 {
	if !r.snapCRCValid {
		r.snapCRC = crc32.ChecksumIEEE(r.snapshot.Data)
		r.snapCRCValid = true
	}
	return r.snapCRC
}

// startSnapshot switches pr to receiving the leader's latest snapshot.
func (r *raft) startSnapshot(id NodeID, pr *progress) bool {
	if r.snapshot == nil || r.snapshot.IsEmpty() {
		return false // nothing to send: cannot happen unless storage is inconsistent
	}
	pr.becomeSnapshot(r.snapshot.Meta.Index)
	pr.snapXfer = &snapshotInTransfer{snap: r.snapshot, checksum: r.snapshotChecksum(), rewoundTo: ^uint64(0)}
	return r.sendSnapshotChunks(id, pr)
}

// sendSnapshotChunks sends chunks while the window allows.
func (r *raft) sendSnapshotChunks(id NodeID, pr *progress) bool {
	x := pr.snapXfer
	if pr.state != stateSnapshot || x == nil {
		return false
	}
	chunk := r.cfg.SnapshotChunkSize
	total := uint64(len(x.snap.Data))
	x.sent = max(x.sent, x.acked)
	sent := false
	for x.sent-x.acked < snapshotWindow*chunk && (x.sent < total || (total == 0 && !x.emptySent)) {
		end := min(x.sent+chunk, total)
		r.send(Message{Type: MsgSnap, To: id, Chunk: &SnapshotChunk{
			Meta: x.snap.Meta, Offset: x.sent, Total: total, Checksum: x.checksum,
			Data: x.snap.Data[x.sent:end],
		}})
		sent = true
		x.sent = end
		x.emptySent = total == 0
	}
	return sent
}

// rewind makes the transfer resume at offset.
func (x *snapshotInTransfer) rewind(offset uint64) {
	x.sent = offset
	x.acked = offset
	x.rewoundTo = offset
	x.emptySent = false
}

// handleSnapResp advances a transfer on the leader.
func (r *raft) handleSnapResp(m Message, pr *progress) {
	x := pr.snapXfer
	ch := m.Chunk
	if pr.state != stateSnapshot || x == nil || ch == nil ||
		ch.Meta.Index != x.snap.Meta.Index || ch.Meta.Term != x.snap.Meta.Term {
		return // about another (older) transfer
	}
	total := uint64(len(x.snap.Data))
	if ch.Offset > total {
		return
	}
	if !m.Reject && ch.Offset == total {
		// Installed: the follower's log now starts after the snapshot.
		pr.match = max(pr.match, x.snap.Meta.Index)
		pr.snapXfer = nil
		pr.becomeReplicate()
		r.appendsDirty = true
		return
	}
	x.acked = max(x.acked, ch.Offset)
	if m.Reject && ch.Offset != x.rewoundTo {
		// The follower dropped an out-of-order chunk: resume where it is.
		x.rewind(ch.Offset)
	}
	r.sendSnapshotChunks(m.From, pr)
}

// snapshotHeartbeat resends the window of a transfer that made no
// progress since the previous heartbeat answer (a chunk was lost).
func (r *raft) snapshotHeartbeat(id NodeID, pr *progress) {
	x := pr.snapXfer
	if x == nil {
		return
	}
	if x.acked == x.ackedAtBeat {
		x.rewind(x.acked)
	}
	x.ackedAtBeat = x.acked
	r.sendSnapshotChunks(id, pr)
}

// handleSnapshot receives one chunk on a follower.
func (r *raft) handleSnapshot(m Message) error {
	ch := m.Chunk
	if ch == nil {
		return fmt.Errorf("%w: MsgSnap without a chunk", ErrInvalidMessage)
	}
	meta := ch.Meta
	reply := func(offset uint64, reject bool) {
		r.send(Message{Type: MsgSnapResp, To: m.From, Reject: reject, Chunk: &SnapshotChunk{
			Meta: SnapshotMeta{Index: meta.Index, Term: meta.Term}, Offset: offset, Total: ch.Total}})
	}
	if meta.Index <= r.log.committed {
		// We hold all that already: answer as a successful append.
		r.pendingSnap = nil
		r.send(Message{Type: MsgAppResp, To: m.From, Index: r.log.committed})
		return nil
	}
	if meta.Term == 0 || meta.Term > m.Term || ch.Total > r.cfg.MaxSnapshotSize ||
		ch.Offset > ch.Total || uint64(len(ch.Data)) > ch.Total-ch.Offset || len(meta.ConfState.Voters) == 0 {
		return fmt.Errorf("%w: MsgSnap index=%d term=%d offset=%d len=%d total=%d voters=%d",
			ErrInvalidMessage, meta.Index, meta.Term, ch.Offset, len(ch.Data), ch.Total, len(meta.ConfState.Voters))
	}
	ps := r.pendingSnap
	if ps == nil || ps.meta.Index != meta.Index || ps.meta.Term != meta.Term ||
		ps.total != ch.Total || ps.checksum != ch.Checksum {
		if ch.Offset != 0 {
			reply(0, true)
			return nil
		}
		ps = &pendingSnapshot{meta: meta, total: ch.Total, checksum: ch.Checksum,
			buf: make([]byte, 0, min(ch.Total, 1<<20))}
		r.pendingSnap = ps
	}
	if ch.Offset != uint64(len(ps.buf)) {
		reply(uint64(len(ps.buf)), true)
		return nil
	}
	ps.buf = append(ps.buf, ch.Data...)
	if uint64(len(ps.buf)) < ps.total {
		reply(uint64(len(ps.buf)), false)
		return nil
	}
	r.pendingSnap = nil
	if crc32.ChecksumIEEE(ps.buf) != ps.checksum {
		reply(0, true)
		return fmt.Errorf("%w: snapshot %d/%d failed its checksum", ErrInvalidMessage, meta.Index, meta.Term)
	}
	r.restore(Snapshot{Meta: ps.meta, Data: ps.buf})
	reply(ps.total, false)
	return nil
}

// restore installs a complete snapshot received from the leader.
func (r *raft) restore(s Snapshot) {
	l := &r.log
	if l.matchTerm(s.Meta.Index, s.Meta.Term) {
		// Our log already holds it: only the commit index moves.
		l.commitTo(s.Meta.Index)
		return
	}
	l.snapIndex, l.snapTerm = s.Meta.Index, s.Meta.Term
	l.entries = nil
	l.stable = s.Meta.Index
	l.committed = s.Meta.Index
	l.applying = s.Meta.Index
	r.snapshot = &s
	r.snapCRCValid = false
	r.unsavedSnapshot = &s
	r.applyConfState(s.Meta.ConfState)
	r.confIndex = s.Meta.Index
}

// compact records a snapshot of the state machine at the applied index and
// drops the log behind it, keeping a tail for followers slightly behind.
func (r *raft) compact(data []byte) (Snapshot, error) {
	l := &r.log
	if l.applied != l.applying {
		return Snapshot{}, errors.New("raft: compact between Ready and Advance")
	}
	if l.applied <= l.snapIndex || (r.snapshot != nil && l.applied <= r.snapshot.Meta.Index) {
		return Snapshot{}, ErrCompactNotApplied
	}
	t, _ := l.term(l.applied)
	s := Snapshot{Meta: SnapshotMeta{Index: l.applied, Term: t, ConfState: r.confState}, Data: data}
	r.snapshot = &s
	r.snapCRCValid = false
	r.bytesSinceSnapshot = 0
	if keepFrom := l.applied - min(l.applied, r.cfg.CompactionKeepEntries); keepFrom > l.snapIndex {
		kt, _ := l.term(keepFrom)
		// A new array (messages in flight alias the old one) of the same
		// capacity: the log grows back to it before the next compaction.
		l.entries = append(make([]Entry, 0, cap(l.entries)), l.entries[keepFrom-l.snapIndex:]...)
		l.snapIndex, l.snapTerm = keepFrom, kt
	}
	return s, nil
}

// shouldCompact applies the compaction policy.
func (r *raft) shouldCompact() bool {
	base := r.log.snapIndex
	if r.snapshot != nil {
		base = max(base, r.snapshot.Meta.Index)
	}
	if r.log.applied <= base || r.log.applied != r.log.applying {
		return false
	}
	return (r.cfg.SnapshotEntries > 0 && r.log.applied-base >= r.cfg.SnapshotEntries) ||
		(r.cfg.SnapshotBytes > 0 && r.bytesSinceSnapshot >= r.cfg.SnapshotBytes)
}
