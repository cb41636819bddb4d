package sim

import (
	"errors"
	"fmt"
	"time"
)

// Config is everything that determines a run: the same Config replays the
// same run, event for event.
type Config struct {
	// Seed seeds the one random source of the run.
	Seed uint64
	// Members is the number of voters (ids 1..Members); 1 with Churn.
	Members int
	// Duration is the length of the fault phase: clients submit operations
	// and, when Faults is on, the nemesis breaks things. The heal phase that
	// follows lasts at most LivenessBound.
	Duration time.Duration
	// LivenessBound is how long after every fault is healed a leader must be
	// in place, every pending operation answered and every member caught up.
	LivenessBound time.Duration

	// Tick is the host's tick interval; ElectionTick and HeartbeatTick are
	// handed to the cores (0 keeps the core's defaults).
	Tick          time.Duration
	ElectionTick  int
	HeartbeatTick int
	// MaxSizePerMsg and MaxInflightMsgs are handed to the cores; 0 draws
	// them per seed, often small, so that appends are split and flow
	// control kicks in.
	MaxSizePerMsg   uint64
	MaxInflightMsgs int

	// Snapshots lets hosts compact their logs on the cores' policy, so that
	// lagging members catch up from a snapshot sent in chunks.
	// SnapshotEntries (entries between snapshots), CompactionKeep (entries
	// kept behind one) and SnapshotChunk (bytes per MsgSnap) are handed to
	// the cores; 0 draws them per seed.
	Snapshots       bool
	SnapshotEntries uint64
	CompactionKeep  uint64
	SnapshotChunk   uint64

	// Clients is the number of clients, each with one operation at a time.
	Clients int
	// Keys is the number of distinct keys the clients work on.
	Keys int
	// ThinkTime bounds the pause between a client's operations.
	ThinkTime time.Duration
	// AttemptTimeout is how long a client waits for an answer before it
	// retries on another member.
	AttemptTimeout time.Duration
	// ReadIndex serves half of the reads with the core's ReadIndex instead
	// of through the log.
	ReadIndex bool
	// LeaseReads makes the cores answer ReadIndex from their leader lease
	// (raft.Config.ReadOnlyLeaseBased), which is only safe while clocks
	// agree: paused or throttled members break it.
	LeaseReads bool
	// GiveUp is how long a client keeps retrying an operation during the
	// fault phase before it records it with an unknown outcome and moves on.
	GiveUp time.Duration

	// Net describes the network during the fault phase.
	Net NetConfig
	// Faults turns the nemesis on: partitions of every kind, crashes,
	// restarts and pauses.
	Faults bool
	// FaultInterval is the mean time between two nemesis actions.
	FaultInterval time.Duration
	// DiskLatency bounds the time a synced write takes; a crash before it
	// completes loses the write (or, with TornWrites, keeps a prefix of its
	// entries and none of its hard state).
	DiskLatency time.Duration
	// TornWrites lets a crash keep part of an unfinished write.
	TornWrites bool
	// Membership lets the nemesis change the configuration during the
	// fault phase: new members join as learners (from empty storage,
	// catching up from the log or a snapshot), learners are promoted,
	// voters demoted or removed, several voters change at once through a
	// joint configuration. Ignored with a Schedule.
	Membership bool
	// Schedule, when non-nil, replaces the random nemesis: these faults are
	// applied at their times, and nothing else (Faults is ignored).
	Schedule []Fault
	// Churn, when non-nil, makes members come and go, and hands every
	// configuration change to the automatic membership planner
	// (peer/autopilot), run by whoever leads: see ChurnConfig. Membership is
	// then ignored, and Members must be 1 (the founder).
	Churn *ChurnConfig
}

// NetConfig describes how the simulated network mistreats messages.
type NetConfig struct {
	// MinLatency and MaxLatency bound the ordinary one-way delay.
	MinLatency, MaxLatency time.Duration
	// Drop is the probability that a message is lost.
	Drop float64
	// Duplicate is the probability that a message is delivered twice.
	Duplicate float64
	// Slow is the probability that a message takes up to SlowDelay instead
	// of the ordinary delay (this is what reorders messages badly).
	Slow      float64
	SlowDelay time.Duration
}

// DefaultConfig returns the configuration `make test` runs, for seed.
func DefaultConfig(seed uint64) Config {
	return Config{
		Seed:           seed,
		Members:        5,
		Duration:       20 * time.Second,
		LivenessBound:  10 * time.Second,
		Tick:           10 * time.Millisecond,
		Snapshots:      true,
		Clients:        4,
		Keys:           3,
		ThinkTime:      60 * time.Millisecond,
		AttemptTimeout: 400 * time.Millisecond,
		GiveUp:         2 * time.Second,
		ReadIndex:      true,
		Net: NetConfig{
			MinLatency: 500 * time.Microsecond,
			MaxLatency: 8 * time.Millisecond,
			Drop:       0.05,
			Duplicate:  0.02,
			Slow:       0.02,
			SlowDelay:  900 * time.Millisecond,
		},
		Faults:        true,
		FaultInterval: 700 * time.Millisecond,
		DiskLatency:   3 * time.Millisecond,
		TornWrites:    true,
		Membership:    true,
	}
}

// Validate reports a configuration the simulator cannot run.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Members < 1 || c.Members > 64 {
		bad("members must be in [1, 64], not %d", c.Members)
	}
	if c.Duration <= 0 {
		bad("duration must be positive")
	}
	if c.LivenessBound <= 0 {
		bad("liveness bound must be positive")
	}
	if c.Tick <= 0 {
		bad("tick must be positive")
	}
	if c.Clients < 0 || c.Keys < 1 {
		bad("need clients >= 0 and keys >= 1")
	}
	if c.AttemptTimeout <= 0 || c.GiveUp <= 0 || c.ThinkTime < 0 {
		bad("client timings must be positive")
	}
	n := c.Net
	if n.MinLatency <= 0 || n.MaxLatency < n.MinLatency || n.SlowDelay < 0 {
		bad("latencies must satisfy 0 < min <= max, slow delay >= 0")
	}
	for _, p := range []float64{n.Drop, n.Duplicate, n.Slow} {
		if p < 0 || p > 1 {
			bad("probabilities must be in [0, 1], not %v", p)
		}
	}
	if c.FaultInterval <= 0 || c.DiskLatency < 0 {
		bad("fault interval must be positive and disk latency non-negative")
	}
	for _, f := range c.Schedule {
		if err := f.validate(c.Members); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Churn != nil {
		if c.Members != 1 {
			bad("churn starts from one founding member, not %d", c.Members)
		}
		if c.Schedule != nil {
			bad("churn does not combine with a fault schedule")
		}
		if err := c.Churn.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
