// Package sim is a deterministic simulator for the Raft core in package raft.
//
// A Simulation runs N members, each a raft.Node driven by a simulated host,
// in virtual time. One seeded random source (math/rand/v2 PCG) decides
// everything: the cores' election timeouts, message latencies, drops,
// duplicates, partitions, crashes, disk latency and the client workload. The
// same Config therefore replays the same run event for event, which the
// trace hash in Result makes checkable.
//
// The host of each member behaves as the Ready contract asks: it persists a
// Ready's entries and hard state (taking simulated disk time, during which
// a crash loses the write), then sends the messages, applies the committed
// entries to a key-value state machine and calls Advance. A crash throws
// away the core and the state machine; a restart builds a new core with
// raft.NewNode from the MemoryStorage, which holds only what was persisted.
//
// Clients submit put, get and append operations through any member
// (followers forward proposals to the leader), retry on other members when
// an attempt fails or times out, and give up on an operation after a while,
// leaving it with an unknown outcome. Commands carry a client id and a
// sequence number; the state machine executes each at most once and answers
// duplicates from a per-client session. The recorded history is checked for
// linearizability with porcupine.
//
// After every step the simulator checks the invariants of Raft (see
// Invariant): at most one leader per term, log matching, leader
// completeness, state machine safety, committed entries surviving on a
// quorum of persisted logs, and one durable vote per term. After the fault
// phase it heals every fault and checks liveness: a leader is elected, every
// pending operation completes and every member applies the whole committed
// log within Config.LivenessBound.
package sim
