// Package autopilot decides tabraft's membership automatically: members
// that show up join as learners, caught-up learners become voters up to
// an odd target, silent and leaving members are removed. It is a pure
// planner: it imports only the core and the standard library, starts no
// goroutine and reads no clock (durations come in with the Input), so the
// same code serves browser tabs, native members and the simulator.
//
// The leader asks it every few hundred milliseconds:
//
//	d := autopilot.Plan(cfg, in) // in: the leader's view, see Input
//	if d.Change != nil {
//		node.ProposeConfChange(*d.Change) // ErrConfChangePending: ask again later
//	}
//	log(d.Reason)
//
// The bookkeeping around the planner is here too, so that every host keeps
// it the same way: a Tracker follows what the host's core reports (role,
// leader, configuration), when each member was last heard from (with a
// grace for members a newly elected leader has not heard from yet), leave
// requests, recent removals (RejoinDelay) and pending changes; it builds
// the Input, asks Plan and proposes the change (Tracker.Tick), and takes a
// host's own graceful leave step by step (Tracker.LeaveStep). peer.Node
// and the simulator's hosts both run it; times are durations since an
// origin of the host's choosing, passed in.
//
// A Decision holds at most one raft.ConfChange. Several single changes may
// be combined in it (remove a dead voter and promote its replacement, add
// two learners); a change that alters more than one voter goes through a
// joint configuration, which the core leaves on its own.
//
// # Rules, in the order they apply
//
//  1. Nothing is planned while a change is pending or the configuration is
//     joint (the core would refuse it anyway).
//  2. Nothing is planned when the live voters are not a majority of the
//     voters: no change could commit (a leader alone among three voters).
//     The reason says which voters are silent.
//  3. Members that announced they are leaving, once caught up (so that
//     the removal reaches them and they know they are out), and members
//     not heard from for Config.DeadTimeout are removed — never the leader:
//     a leader hands leadership over first (peer.Node.Leave does).
//  4. The voters are brought to the largest odd number not above
//     Config.TargetVoters that the remaining voters and the live, caught-up
//     learners allow: learners are promoted (the most caught-up first), and
//     when there are too few of them to reach an odd count, live voters
//     other than the leader are demoted to learners (the least caught-up
//     first). So one voter becomes three by promoting two learners at once,
//     not one by one.
//  5. Members present (in the signaling room, the transport's roster) but
//     not in the configuration are added as learners, unless they are
//     leaving or were removed less than Config.RejoinDelay ago.
//
// # Why an odd number of voters, even by demoting a live voter
//
// A configuration of 2k voters tolerates no more failures than one of
// 2k−1 (a majority of 2k is k+1), yet it has one more member whose
// failure counts and a larger quorum to wait for. Two voters are worse than
// one: the cluster stops if either fails, where one voter plus one learner
// stops only if the leader fails — and the cluster can then still remove a
// failed learner on its own, while two voters with one dead can change
// nothing any more. So when a dead voter leaves an even number behind and
// no learner can replace it, the planner demotes a live voter in the same
// (joint) change: {L, A, B} with B dead becomes {L} with learner A, not
// {L, A}. When a new member has caught up, both it and A are promoted
// together and the cluster is back at three voters.
//
// The price is durability during the gap: a write is then acknowledged once
// it is on the leader alone (the demoted member still receives it, a few
// milliseconds later, as a learner). If the leader is then lost for good,
// the writes it had not yet sent are lost with it, and the learners cannot
// elect anyone: recovery is explicit (peer.RecoverAlone). With two voters
// the acknowledged writes would be on both, but the loss of either would
// stop the cluster just the same, and for good if it does not come back.
// For a cluster of browser tabs, where a member closing is the common case,
// availability wins. A two-voter configuration still appears briefly when
// a sole voter leaves gracefully (it promotes a learner to hand over to).
//
// # Liveness and catching up
//
// A member is live when the leader heard from it (any message) less than
// DeadTimeout ago; the leader itself always is. A member the Input says
// nothing about counts as live and not caught up: missing data never
// removes anyone. A learner is caught up when it has acknowledged something
// (Match > 0) and its Match is within CatchUpLag of the leader's last index.
//
// # Weak points
//
// Liveness is the leader's view alone: a member cut off from the leader but
// not from the others is removed all the same. A member that is in the room
// but can never be reached is added, removed after DeadTimeout and added
// again after RejoinDelay, over and over (cheap, but noisy in the logs).
// Learners are never removed for being too many, nor for lagging.
package autopilot
