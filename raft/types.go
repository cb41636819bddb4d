package raft

import "fmt"

// NodeID names a member of the cluster. Zero means "nobody".
type NodeID uint64

// None is the zero NodeID: no leader, no vote.
const None NodeID = 0

// EntryType tells how the state machine interprets an entry's data.
type EntryType uint8

const (
	// EntryNormal carries an opaque command for the user's state machine.
	// An EntryNormal with no data is the no-op a new leader appends.
	EntryNormal EntryType = iota
	// EntryConfChange carries an encoded configuration change.
	EntryConfChange
)

func (t EntryType) String() string {
	switch t {
	case EntryNormal:
		return "Normal"
	case EntryConfChange:
		return "ConfChange"
	}
	return fmt.Sprintf("EntryType(%d)", uint8(t))
}

// Entry is one slot of the replicated log.
type Entry struct {
	Term  uint64
	Index uint64
	Type  EntryType
	Data  []byte
}

// size approximates the bytes an entry costs on the wire; flow control and
// message size limits are expressed in it.
func (e *Entry) size() uint64 { return uint64(len(e.Data)) + 24 }

// HardState is what a member must persist before it sends any message of the
// Ready that carries it: its term, its vote in that term, its commit index
// and the identity of its cluster.
type HardState struct {
	Term   uint64
	Vote   NodeID
	Commit uint64
	// Cluster identifies the cluster this member belongs to (0: not known
	// yet). The founder draws it at bootstrap; a member with none adopts
	// that of the first leader it accepts. See Message.Cluster.
	Cluster uint64
}

// IsEmpty reports whether h is the zero HardState.
func (h HardState) IsEmpty() bool { return h == HardState{} }

// ConfState is a cluster configuration: who votes and who only listens.
// VotersOutgoing is non-empty only during a joint configuration, and
// LearnersNext lists outgoing voters that become learners when it ends.
type ConfState struct {
	Voters         []NodeID
	Learners       []NodeID
	VotersOutgoing []NodeID
	LearnersNext   []NodeID
}

// IsJoint reports whether cs is a joint configuration.
func (cs ConfState) IsJoint() bool { return len(cs.VotersOutgoing) > 0 }

// SnapshotMeta describes the log prefix a snapshot replaces.
type SnapshotMeta struct {
	Index     uint64
	Term      uint64
	ConfState ConfState
}

// Snapshot is a state machine image covering the log up to Meta.Index.
type Snapshot struct {
	Meta SnapshotMeta
	Data []byte
}

// IsEmpty reports whether s holds no snapshot.
func (s Snapshot) IsEmpty() bool { return s.Meta.Index == 0 }

// MessageType enumerates the messages members exchange, plus a few local
// inputs that travel through Step for uniformity.
type MessageType uint8

const (
	// MsgHup asks a member to start an election now (local).
	MsgHup MessageType = iota
	// MsgBeat asks a leader to send heartbeats now (local).
	MsgBeat
	// MsgProp carries proposed entries; followers forward it to the leader.
	MsgProp
	// MsgApp is AppendEntries: Index/LogTerm name the entry preceding Entries.
	MsgApp
	// MsgAppResp answers MsgApp. On success Index is the last index now
	// matching the leader; on rejection Index is the rejected prevIndex and
	// RejectHint/HintTerm let the leader skip a whole conflicting term.
	MsgAppResp
	// MsgVote requests a vote; Index/LogTerm describe the candidate's last entry.
	MsgVote
	// MsgVoteResp answers MsgVote.
	MsgVoteResp
	// MsgPreVote asks whether a vote would be granted, without changing terms.
	MsgPreVote
	// MsgPreVoteResp answers MsgPreVote.
	MsgPreVoteResp
	// MsgHeartbeat asserts leadership and carries the commit index.
	MsgHeartbeat
	// MsgHeartbeatResp answers MsgHeartbeat.
	MsgHeartbeatResp
	// MsgUnreachable is reported by the transport when it failed to deliver
	// to From (local).
	MsgUnreachable
	// MsgSnap carries a chunk of a snapshot.
	MsgSnap
	// MsgSnapResp acknowledges snapshot chunks (Reject: a chunk was out of
	// order and the sender should resume at Chunk.Offset).
	MsgSnapResp
	// MsgTransferLeader asks the leader to hand leadership to From (local or forwarded).
	MsgTransferLeader
	// MsgTimeoutNow tells the transfer target to campaign at once.
	MsgTimeoutNow
	// MsgReadIndex asks for a linearizable read index; Context identifies it.
	MsgReadIndex
	// MsgReadIndexResp answers MsgReadIndex with Index.
	MsgReadIndexResp

	numMessageTypes
)

var messageTypeNames = [...]string{
	MsgHup: "MsgHup", MsgBeat: "MsgBeat", MsgProp: "MsgProp", MsgApp: "MsgApp",
	MsgAppResp: "MsgAppResp", MsgVote: "MsgVote", MsgVoteResp: "MsgVoteResp",
	MsgPreVote: "MsgPreVote", MsgPreVoteResp: "MsgPreVoteResp",
	MsgHeartbeat: "MsgHeartbeat", MsgHeartbeatResp: "MsgHeartbeatResp",
	MsgUnreachable: "MsgUnreachable", MsgSnap: "MsgSnap", MsgSnapResp: "MsgSnapResp",
	MsgTransferLeader: "MsgTransferLeader", MsgTimeoutNow: "MsgTimeoutNow",
	MsgReadIndex: "MsgReadIndex", MsgReadIndexResp: "MsgReadIndexResp",
}

func (t MessageType) String() string {
	if t < numMessageTypes {
		return messageTypeNames[t]
	}
	return fmt.Sprintf("MessageType(%d)", uint8(t))
}

// IsLocal reports whether t is an input from the host, never from the network.
func (t MessageType) IsLocal() bool {
	switch t {
	case MsgHup, MsgBeat, MsgUnreachable:
		return true
	}
	return false
}

// Message is the unit members exchange. Fields not meaningful for a type are zero.
type Message struct {
	Type    MessageType
	From    NodeID
	To      NodeID
	Term    uint64
	LogTerm uint64
	Index   uint64
	Entries []Entry
	Commit  uint64
	Reject  bool
	// RejectHint and HintTerm implement fast log repair (a rejected MsgAppResp):
	// HintTerm is the term of the follower's entry at the rejected index (0 if
	// the follower's log is shorter) and RejectHint the first index the
	// follower holds of that term, or its last index + 1 if shorter.
	RejectHint uint64
	HintTerm   uint64
	Context    []byte
	// Chunk carries a piece of a snapshot (MsgSnap) or acknowledges one
	// (MsgSnapResp: Offset is the number of bytes received so far).
	Chunk *SnapshotChunk
	// Cluster is the sender's cluster id (HardState.Cluster), set by the
	// core on every message it emits. A member that knows its cluster
	// refuses messages of another non-zero id (ErrForeignCluster): two
	// clusters whose members meet in one room never mix. A zero id (a
	// member that knows none yet, or an older build that sends none) is
	// accepted as before: refusing it would cut older peers off during an
	// upgrade, at the price of not telling their messages apart.
	Cluster uint64
}

// SnapshotChunk is a piece of a snapshot in transfer: Data is Total bytes'
// slice at Offset. Snapshots travel in chunks small enough for a WebRTC
// message, and a transfer resumes from the last acknowledged offset.
type SnapshotChunk struct {
	Meta   SnapshotMeta
	Offset uint64
	Total  uint64
	// Checksum is the CRC-32 (IEEE) of the whole snapshot data: a
	// reassembled image that does not match is discarded, not installed.
	Checksum uint32
	Data     []byte
}

func (m Message) String() string {
	return fmt.Sprintf("%s %d→%d term=%d logterm=%d index=%d commit=%d entries=%d reject=%v",
		m.Type, m.From, m.To, m.Term, m.LogTerm, m.Index, m.Commit, len(m.Entries), m.Reject)
}

// Role is a member's part in the protocol.
type Role uint8

const (
	Follower Role = iota
	PreCandidate
	Candidate
	Leader
)

func (r Role) String() string {
	switch r {
	case Follower:
		return "follower"
	case PreCandidate:
		return "pre-candidate"
	case Candidate:
		return "candidate"
	case Leader:
		return "leader"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// SoftState is volatile state worth reporting: who leads and what we are.
type SoftState struct {
	Lead NodeID
	Role Role
}

// Ready is a batch of work for the host. Handle it in this order:
//  1. persist Snapshot (if any), Entries (truncating the stored log from
//     Entries[0].Index) and HardState (if not empty) — durably if MustSync;
//  2. send Messages;
//  3. apply CommittedEntries to the state machine, in order;
//  4. call Advance.
type Ready struct {
	// SoftState is non-nil when leader or role changed.
	SoftState *SoftState
	// HardState is empty when unchanged.
	HardState HardState
	// Entries must be stored before Messages are sent.
	Entries []Entry
	// Snapshot, when not empty, must be stored (and replaces the log up to its index).
	Snapshot Snapshot
	// CommittedEntries are ready to apply. Some may be in this Ready's
	// Entries too: apply only after storing them (the order above).
	CommittedEntries []Entry
	// Messages to send once Entries and HardState are durable.
	Messages []Message
	// ReadStates are linearizable read points that became safe to serve.
	ReadStates []ReadState
	// ConfState is non-nil when the configuration changed (a configuration
	// change was handed out for application, or a snapshot installed).
	ConfState *ConfState
	// MustSync is true when the storage write must reach the disk before
	// Messages are sent (a new term, vote, or entries).
	MustSync bool
}

// ReadState tells a reader that state applied up to Index is linearizable
// for the read request identified by Context.
type ReadState struct {
	Index   uint64
	Context []byte
}
