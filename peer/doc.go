// Package peer runs a live tabraft member: the driver loop around the pure
// core (real ticks, Ready handled in the order the persistence rule
// demands, committed entries applied to the user's StateMachine), futures
// for writes and linearizable reads, and the seams it plugs into — Storage
// and Transport. Sub-packages hold the pieces: wire (the codec), rtc (the
// WebRTC transport), filelog (crash-safe storage for native members),
// autopilot (the membership policy).
//
// # Membership
//
// With Config.Autopilot set, membership runs itself. A new member decides
// how to start with FoundingVoters: alone in the room with empty storage it
// founds the cluster, otherwise it waits to be added; a member with stored
// state just restarts. The loop records when a message last arrived from
// each member; while leading, every DeadTimeout/10 (at most 200 ms) it asks
// the planner (autopilot.Plan) and proposes what it suggests: members
// present in the Transport's Roster join as learners, caught-up learners
// become voters up to the largest odd count not above the target, silent
// members are removed (see package autopilot for the rules and why the
// count stays odd).
//
// Node.Leave takes a member out for good: a leader makes sure another voter
// exists (the only voter promotes its most caught-up learner, one that
// answered since Leave began, after adding the members present if it has
// none), hands leadership over, and as a follower asks to be removed. That
// request — a proposal removing its own proposer — is taken by a leader
// with the autopilot as a leave announcement: the planner removes the
// member once it is caught up, in the same change as whatever keeps the
// voters odd, and the core's last message to a removed member tells it
// the removal is committed; Leave returns when the member applied it.
//
// Node.Health reports each member's silence, the planner's last reason
// and a Note when the cluster is stuck: for instance a member with stored
// state whose fellow voters are gone cannot be elected, and the Note names
// them. Recovery is explicit: RecoverAlone rewrites a stopped member's
// storage into a cluster of that member alone, keeping its whole log
// (see its documentation for the risks).
//
// Weak points: liveness is the leader's view; a member present in the room
// but unreachable is added and removed again and again (every
// DeadTimeout + RejoinDelay); two learners dying right after being
// promoted together leave a joint configuration the cluster cannot leave,
// and the one learner a leaving sole voter promotes dying in the same
// moment leaves two voters of which one is dead (the planner and Leave
// only promote members heard from a moment before, which narrows this to
// milliseconds); the core applies configurations when committed, not when
// appended, so members that restart with a stale configuration could in
// principle elect each other; and a room can hold two clusters (see
// FoundingVoters).
package peer
