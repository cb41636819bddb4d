// Package sim is a deterministic simulator for the Raft core in package raft.
//
// A Simulation runs N members, each a raft.Node driven by a simulated host,
// in virtual time. One seeded random source (math/rand/v2 PCG) decides
// everything: the cores' election timeouts (each core's Config.Rand is
// drawn from it), message latencies, drops, duplicates, partitions,
// crashes, disk latency, the client workload and the per-seed core tuning
// (message sizes, inflight windows, snapshot policy). The same Config
// therefore replays the same run event for event, which the trace hash in
// Result makes checkable.
//
// # Hosts
//
// The host of each member behaves as the Ready contract asks: it persists a
// Ready's snapshot, entries and hard state (a synced write takes simulated
// disk time, during which a crash loses it, or with torn writes keeps a
// prefix of its entries), then sends the messages, applies the committed
// entries to a key-value state machine, serves the reads whose index it
// reached, calls Advance, and compacts its log when the core's policy asks.
// A crash throws away the core and the state machine; a restart builds a
// new core with raft.NewNode from the MemoryStorage, which holds only what
// was persisted, and reloads the state machine from its snapshot.
//
// # Faults
//
// The nemesis (or an explicit Config.Schedule) splits the network into
// sides, isolates a member, cuts links one way or only some pairs, heals;
// crashes, restarts and reboots members (a reboot right after a member
// granted a vote or acknowledged entries is struck on purpose); freezes and
// thaws hosts; throttles a member's timer as browsers do to hidden tabs;
// and asks the leader to transfer leadership. The network on its own drops,
// duplicates and delays messages, some by several election timeouts, which
// reorders them.
//
// # Membership
//
// With Config.Membership the nemesis also changes the configuration on the
// leader, under the same faults: a brand-new member (empty storage, no
// voters) starts and is added as a learner, catching up from the log or a
// snapshot; learners are promoted, voters demoted or removed, learners
// removed; several voters change at once through a joint configuration,
// which the leader leaves on its own. Voters stay between min(Members, 3)
// and 7, and the leader is never the one removed. A refused change
// (another pending, no leader, leadership moving) is retried. Half of the
// removed members are shut down for good, the others keep running and
// must not disrupt the cluster.
//
// # Churn
//
// With Config.Churn, members come and go as browser tabs do, and the
// membership planner of package peer/autopilot decides every change: the
// first member founds a cluster of one; members arrive with a new id and
// empty storage and wait to be added; members leave gracefully as
// peer.Node.Leave does (a leader hands leadership over first, the only
// voter promotes a learner first, then the member asks the leader to
// remove it and stops once it applied its removal, or after a timeout);
// members crash silently and come back with their persisted state within
// the planner's DeadTimeout (they should keep their place), after it
// (removed meanwhile, then added again as learners), or never. Every host
// keeps what peer.Node keeps: the configuration it applied, when it last
// received a message from each member, who asked to leave; the leader asks
// the planner every 200 ms. The population stays between one and
// ChurnConfig.MaxPresent, and churn never loses for good a majority of
// the voters of a configuration in force, still applied by a member, or
// proposed (no Raft cluster survives that without explicit recovery). The
// random nemesis keeps partitioning, freezing, throttling and rebooting,
// less often; its crashes and restarts give way to churn's, the
// configuration-change nemesis to the planner.
//
// # Clients
//
// Clients submit put, get and append operations through any member
// (followers forward proposals to the leader); half of the reads use
// ReadIndex instead of the log. A client retries elsewhere (same command,
// same sequence number) when a member refuses, crashes or is too slow, and
// gives up on an operation after Config.GiveUp, leaving it with an unknown
// outcome. Commands carry a client id and a sequence number; the state
// machine executes each at most once and answers duplicates from a
// per-client session. The history is checked for linearizability with
// porcupine, unknown outcomes as operations that may take effect at any
// time after their call.
//
// # Invariants
//
// After every Ready the simulator checks (see Invariant): at most one
// leader per term; log matching; leader completeness; that members agree
// on committed entries and snapshots; state machine safety; that the
// committed prefix is persisted on a quorum, crashes notwithstanding; one
// durable vote per term; that no message promises more than is persisted;
// and that a restarted core took up its persisted state; and configuration
// safety: every election won and every commit advance on a leader was
// decided by a quorum of the decider's configuration, and no two decisions
// in the same or neighbouring configurations by disjoint majorities (see
// confHistory). Checks that count a quorum use the configuration in force.
// After the fault phase every fault heals and liveness is checked: within
// Config.LivenessBound the leader holds the latest configuration (not a
// joint one), is followed by every member of it, every pending operation
// is answered and every member of it applied the whole committed log;
// removed members are not waited for. With churn, settling also means the
// configuration holds exactly the members present, with as many voters as
// the planner aims for.
//
// Churn adds two checks. No configuration applied anywhere has more voters
// than the planner's target (each half of a joint one). No acknowledged
// write is lost: once the cluster settles, every write a client was told
// succeeded was executed by some state machine, and every member's state
// equals the replay, in log order, of every write any state machine ever
// executed (see ledger) — a check of the end result, independent of the
// log checks above. It runs without churn too.
//
// # Availability
//
// Result.CommitAvailability is the share of the fault phase's 100 ms
// windows with a client operation outstanding in which the commit index
// advanced (the cluster could commit while someone wanted it to);
// Stats.LongestStall is the longest run of such windows without a commit.
package sim
