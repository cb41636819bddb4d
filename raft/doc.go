// Package raft is tabraft's consensus core: the Raft protocol (Ongaro &
// Ousterhout) as a pure, deterministic state machine. It has no goroutines,
// no clock, no I/O and no global randomness, so the same code runs in a
// browser tab (GOOS=js), in a native member and in the simulator, and every
// run can be replayed from a seed.
//
// # Driving a Node
//
// The host owns time, storage and the network. It calls Tick at a fixed
// interval (10 ms in tabraft), hands received messages to Step, submits
// commands with Propose, and repeatedly collects a Ready:
//
//	for node.HasReady() {
//		rd := node.Ready()
//		storage.Save(&rd)              // snapshot, entries, hard state: durable first
//		send(rd.Messages)              // only then may messages leave
//		apply(rd.CommittedEntries)     // in order, each exactly once
//		node.Advance()
//	}
//
// # What it implements
//
//   - Leader election with randomized timeouts, pre-vote (a member that
//     cannot win does not disturb the cluster) and check-quorum (a leader
//     that lost its quorum steps down; followers that hear a leader ignore
//     vote requests).
//   - Log replication: pipelined AppendEntries bounded by an inflight window
//     (messages and bytes), proposals batched per Ready, a maximum message
//     size, probing when a follower stops answering, and fast log repair
//     that skips a whole conflicting term per round trip.
//   - Commitment by the rule of the paper: only entries of the leader's
//     term are committed by counting replicas (Figure 8).
//   - Membership: learners, one-step changes of a single voter, joint
//     consensus for anything else (left automatically), one change pending
//     at a time and none before the leader committed in its term.
//   - Snapshots: compaction on a policy, chunked transfer of at most 16 KiB
//     per message that resumes from the last acknowledged offset, and
//     atomic installation verified by checksum.
//   - Linearizable reads with ReadIndex (batched heartbeat rounds), served
//     by followers through the leader; lease reads as an option.
//   - Leadership transfer to a named member or the most up-to-date voter.
package raft
