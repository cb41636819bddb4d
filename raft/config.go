package raft

import (
	"errors"
	"fmt"
	"math/rand/v2"
)

// Config configures one member's core. Times are in ticks: the host calls
// Tick at a fixed interval (10 ms in tabraft), so the defaults give
// heartbeats every 50 ms and election timeouts drawn from [150, 300) ms.
type Config struct {
	// ID is this member's id; it must not be None.
	ID NodeID
	// Voters is the initial configuration, used only when Storage holds none.
	Voters []NodeID
	// Learners is the initial set of non-voting members (with Voters).
	Learners []NodeID
	// Storage provides the persisted state to restart from. Required.
	Storage Storage
	// Applied is the last index the state machine already applied (after a
	// restart with a durable state machine); committed entries above it are
	// handed out again.
	Applied uint64
	// Rand is the source of election-timeout randomness. Seed it for
	// reproducible runs; a nil Rand gets one seeded from ID.
	Rand *rand.Rand

	// ElectionTick is the minimum election timeout; the real timeout is drawn
	// from [ElectionTick, 2*ElectionTick). Default 15.
	ElectionTick int
	// HeartbeatTick is the leader's heartbeat interval. Default 5.
	HeartbeatTick int

	// MaxSizePerMsg bounds the entry bytes of one MsgApp (at least one entry
	// is always sent). Default 64 KiB.
	MaxSizePerMsg uint64
	// MaxInflightMsgs bounds the MsgApps in flight to one follower. Default
	// 4: a small window makes a busy leader gather proposals into fewer,
	// larger messages while it waits for acknowledgements, which matters
	// over WebRTC where each message costs far more than its bytes (3
	// members on loopback, C=256: 4 → ~60k writes/s, 256 → ~25k). A single
	// message still carries up to MaxSizePerMsg.
	MaxInflightMsgs int
	// MaxInflightBytes bounds the entry bytes in flight to one follower
	// (0: only MaxInflightMsgs applies). Default 8 MiB.
	MaxInflightBytes uint64
	// MaxCommittedSizePerReady bounds the bytes of CommittedEntries in one
	// Ready. Default 16 MiB.
	MaxCommittedSizePerReady uint64
	// MaxUncommittedEntriesSize bounds the bytes a leader accepts but has not
	// committed; proposals beyond it fail with ErrProposalDropped. 0 = no limit.
	MaxUncommittedEntriesSize uint64

	// SnapshotEntries and SnapshotBytes are the compaction policy:
	// ShouldCompact reports true once this many entries (default 10,000) or
	// bytes (default 8 MiB) were applied since the last snapshot.
	SnapshotEntries uint64
	SnapshotBytes   uint64
	// CompactionKeepEntries is how many applied entries Compact keeps
	// behind the snapshot, so that a follower slightly behind catches up
	// from the log rather than needing the whole snapshot. Default 1,000.
	CompactionKeepEntries uint64
	// SnapshotChunkSize bounds the data of one MsgSnap. The default leaves
	// room for framing within 16 KiB, the portable WebRTC message size.
	SnapshotChunkSize uint64
	// MaxSnapshotSize is the largest snapshot a follower accepts. Default 1 GiB.
	MaxSnapshotSize uint64

	// ReadOnlyLeaseBased serves ReadIndex on the leader without a heartbeat
	// round, trusting that no other leader can have been elected within an
	// election timeout of the last quorum contact. That assumes clocks
	// that run at about the same rate on every member (bounded drift, no
	// paused processes beyond the timeout) — a browser tab that is frozen
	// and thawed breaks it. It requires check-quorum; off by default.
	ReadOnlyLeaseBased bool

	// DisablePreVote turns off the pre-vote phase (on by default): with
	// pre-vote a member that cannot win does not bump the cluster's term.
	DisablePreVote bool
	// DisableCheckQuorum turns off check-quorum (on by default): with it a
	// leader steps down when it has not heard from a quorum for an election
	// timeout, and followers that hear a leader ignore vote requests.
	DisableCheckQuorum bool
}

// Errors returned by the core.
var (
	// ErrNoLeader is returned for a proposal made while no leader is known.
	ErrNoLeader = errors.New("raft: no leader known")
	// ErrProposalDropped is returned when a proposal cannot be accepted now
	// (leadership transfer in progress, or too many uncommitted bytes).
	ErrProposalDropped = errors.New("raft: proposal dropped")
	// ErrStepLocalMsg is returned when the network hands Step a local-only message.
	ErrStepLocalMsg = errors.New("raft: local message type received from the network")
	// ErrUnknownSender is returned for a message from a member outside the configuration.
	ErrUnknownSender = errors.New("raft: message from a member not in the configuration")
	// ErrForeignCluster is returned for a message that carries another
	// cluster's id (see Message.Cluster).
	ErrForeignCluster = errors.New("raft: message from another cluster")
	// ErrInvalidMessage is returned for a message that is malformed.
	ErrInvalidMessage = errors.New("raft: invalid message")
)

func (c *Config) withDefaults() (Config, error) {
	cfg := *c
	if cfg.ID == None {
		return cfg, errors.New("raft: config: ID must not be zero")
	}
	if cfg.Storage == nil {
		return cfg, errors.New("raft: config: Storage is required")
	}
	if cfg.ElectionTick == 0 {
		cfg.ElectionTick = 15
	}
	if cfg.HeartbeatTick == 0 {
		cfg.HeartbeatTick = 5
	}
	if cfg.HeartbeatTick <= 0 || cfg.ElectionTick <= cfg.HeartbeatTick {
		return cfg, fmt.Errorf("raft: config: ElectionTick (%d) must exceed HeartbeatTick (%d) > 0",
			cfg.ElectionTick, cfg.HeartbeatTick)
	}
	if cfg.MaxSizePerMsg == 0 {
		cfg.MaxSizePerMsg = 64 << 10
	}
	if cfg.MaxInflightMsgs == 0 {
		cfg.MaxInflightMsgs = 4
	}
	if cfg.MaxInflightMsgs < 0 {
		return cfg, errors.New("raft: config: MaxInflightMsgs must be positive")
	}
	if cfg.MaxInflightBytes == 0 {
		cfg.MaxInflightBytes = 8 << 20
	}
	if cfg.MaxCommittedSizePerReady == 0 {
		cfg.MaxCommittedSizePerReady = 16 << 20
	}
	if cfg.SnapshotEntries == 0 {
		cfg.SnapshotEntries = 10000
	}
	if cfg.SnapshotBytes == 0 {
		cfg.SnapshotBytes = 8 << 20
	}
	if cfg.CompactionKeepEntries == 0 {
		cfg.CompactionKeepEntries = 1000
	}
	if cfg.SnapshotChunkSize == 0 {
		cfg.SnapshotChunkSize = 16<<10 - 512
	}
	if cfg.MaxSnapshotSize == 0 {
		cfg.MaxSnapshotSize = 1 << 30
	}
	if cfg.ReadOnlyLeaseBased && cfg.DisableCheckQuorum {
		return cfg, errors.New("raft: config: lease-based reads need check-quorum")
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.New(rand.NewPCG(uint64(cfg.ID), 0x7ab7af7))
	}
	return cfg, nil
}
