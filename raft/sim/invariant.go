package sim

import (
	"fmt"
	"time"
)

// Invariant names a property the simulator checks.
type Invariant uint8

const (
	// ElectionSafety: at most one leader per term.
	ElectionSafety Invariant = iota + 1
	// LogMatching: two logs holding an entry with the same index and term
	// are identical up to it.
	LogMatching
	// LeaderCompleteness: an entry committed in a term is in the log of
	// every leader of a later term.
	LeaderCompleteness
	// CommitAgreement: no two members ever report different entries
	// committed at one index.
	CommitAgreement
	// StateMachineSafety: no two members apply different entries at one
	// index, every member applies in order, and only committed entries.
	StateMachineSafety
	// CommittedDurable: every entry ever reported committed is in the
	// persisted log of a quorum of members, crashes notwithstanding.
	CommittedDurable
	// VoteSafety: a member grants at most one vote per term, and asks for
	// or grants a vote only once it is persisted (or a later term is).
	VoteSafety
	// PersistBeforeSend: no message promises more than is durable (a term
	// above the persisted one, an acknowledgement of unpersisted entries).
	PersistBeforeSend
	// ConfigSafety: every decision (election won, commit advanced) was
	// made by a quorum of the deciding member's configuration, and no two
	// decisions in the same or neighbouring configurations were made by
	// disjoint majorities (see confHistory).
	ConfigSafety
	// Linearizability: the client history is linearizable (porcupine).
	Linearizability
	// AckedWriteLost: once the cluster settles, every write acknowledged to
	// a client was executed, and every member's state equals the replay of
	// all writes ever executed (see ledger).
	AckedWriteLost
	// VoterBound: with churn, no configuration applied anywhere has more
	// voters than the planner's target (each half of a joint one).
	VoterBound
	// Liveness: after every fault heals, a leader is elected, pending
	// operations complete and members catch up within the bound.
	Liveness
	// CoreError: the core refused input a correct peer produced, failed to
	// restart from its own storage, or its log differs from what it handed
	// the host.
	CoreError
	// Panic: the core or the simulator panicked.
	Panic
)

var invariantNames = [...]string{
	ElectionSafety: "election safety", LogMatching: "log matching",
	LeaderCompleteness: "leader completeness", CommitAgreement: "commit agreement",
	StateMachineSafety: "state machine safety", CommittedDurable: "committed entries durable",
	VoteSafety: "vote safety", PersistBeforeSend: "persist before send", ConfigSafety: "configuration safety",
	Linearizability: "linearizability", AckedWriteLost: "no acknowledged write lost",
	VoterBound: "voters within the target", Liveness: "liveness", CoreError: "core error",
	Panic: "no panic",
}

func (v Invariant) String() string {
	if int(v) < len(invariantNames) && invariantNames[v] != "" {
		return invariantNames[v]
	}
	return fmt.Sprintf("Invariant(%d)", uint8(v))
}

// Violation is a broken invariant.
type Violation struct {
	At        time.Duration
	Invariant Invariant
	Detail    string
}

func (v Violation) String() string {
	return fmt.Sprintf("t=%s  %s violated: %s", fmtTime(v.At), v.Invariant, v.Detail)
}
