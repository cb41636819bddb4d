package sim

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// Stats counts what happened in a run.
type Stats struct {
	// Ops is the number of client operations started; OpsOK were answered,
	// OpsUnknown abandoned by their client (outcome unknown).
	Ops, OpsOK, OpsUnknown int
	// Retries and Timeouts count client attempts refused and unanswered.
	Retries, Timeouts int
	// Elections is the number of terms that got a leader.
	Elections int
	// Faults counts nemesis actions, by kind in FaultCounts.
	Faults      int
	FaultCounts [numFaultKinds]int
	// TornWrites counts crashes that kept part of a write.
	TornWrites int
	// Snapshots taken by hosts, and installed from a leader.
	Snapshots, SnapshotsInstalled int
	// Messages sent, Dropped (lost, cut or undeliverable), Duplicated.
	Messages, Dropped, Duplicated int
	// ConfChanges counts configurations that came into force (a joint
	// change counts twice: entering and leaving), ConfCounts their kinds.
	// Joins counts the new members started, ConfRetries the changes
	// refused (to be retried).
	ConfChanges, Joins, ConfRetries int
	ConfCounts
	// Commit is the highest commit index reached.
	Commit uint64
	// Windows and AvailableWindows: of the sampling windows of the fault
	// phase, how many saw the commit index advance.
	Windows, AvailableWindows int
	// DemandWindows are the fault-phase windows during which a client
	// operation was outstanding; CommitWindows those of them in which the
	// commit index advanced. LongestStall is the longest run of demand
	// windows without a commit.
	DemandWindows, CommitWindows int
	LongestStall                 time.Duration
	// Churn counts arrivals, leaves, crashes and returns (churn runs).
	Churn ChurnStats
	// Recovery is the time from healing to a settled cluster.
	Recovery time.Duration
}

// LinResult is the outcome of the linearizability check.
type LinResult uint8

const (
	// LinOK: the history is linearizable.
	LinOK LinResult = iota
	// LinIllegal: it is not.
	LinIllegal
	// LinUnknown: the checker ran out of time.
	LinUnknown
)

func (l LinResult) String() string {
	switch l {
	case LinOK:
		return "linearizable"
	case LinIllegal:
		return "NOT linearizable"
	}
	return "linearizability unknown (checker timed out)"
}

// linTimeout bounds porcupine's search on one history.
const linTimeout = 30 * time.Second

func checkLinearizable(ops []porcupine.Operation) LinResult {
	switch porcupine.CheckOperationsTimeout(fastKVModel(), ops, linTimeout) {
	case porcupine.Ok:
		return LinOK
	case porcupine.Illegal:
		return LinIllegal
	}
	return LinUnknown
}

// Result is the outcome of one run.
type Result struct {
	Config       Config
	Stats        Stats
	VirtualTime  time.Duration
	TraceHash    uint64
	History      []porcupine.Operation
	Linearizable LinResult
	// CheckTime is the wall time porcupine took (the one figure of a
	// Result that is not deterministic).
	CheckTime  time.Duration
	Violations []Violation
}

// Failed reports whether any invariant was violated.
func (r *Result) Failed() bool { return len(r.Violations) > 0 }

// Availability is the fraction of fault-phase windows in which the commit
// index advanced.
func (r *Result) Availability() float64 {
	if r.Stats.Windows == 0 {
		return 0
	}
	return float64(r.Stats.AvailableWindows) / float64(r.Stats.Windows)
}

// CommitAvailability is the fraction of the fault phase's 100 ms windows
// with a client operation outstanding in which the commit index advanced:
// the share of the time clients wanted to write that the cluster could
// commit.
func (r *Result) CommitAvailability() float64 {
	if r.Stats.DemandWindows == 0 {
		return 0
	}
	return float64(r.Stats.CommitWindows) / float64(r.Stats.DemandWindows)
}

// Summary describes the run in a few lines.
func (r *Result) Summary() string {
	st := &r.Stats
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: %s virtual, %d members, %d elections, commit index %d\n",
		r.Config.Seed, fmtTime(r.VirtualTime), r.Config.Members, st.Elections, st.Commit)
	fmt.Fprintf(&b, "  faults: %d (%s)\n", st.Faults, faultBreakdown(&st.FaultCounts))
	fmt.Fprintf(&b, "  configuration changes: %d (%s); %d new members started, %d proposals refused and retried\n",
		st.ConfChanges, st.confBreakdown(), st.Joins, st.ConfRetries)
	if ch := r.Config.Churn; ch != nil {
		fmt.Fprintf(&b, "  churn (at most %d present, an event every ~%s; planner: %d voters, dead after %s, caught up within %d entries): %s\n",
			ch.MaxPresent, ch.Interval, ch.TargetVoters, ch.DeadTimeout, ch.CatchUpLag, st.Churn.String())
	}
	fmt.Fprintf(&b, "  messages: %d sent, %d lost, %d duplicated; snapshots: %d taken, %d installed\n",
		st.Messages, st.Dropped, st.Duplicated, st.Snapshots, st.SnapshotsInstalled)
	fmt.Fprintf(&b, "  operations: %d (%d answered, %d outcome unknown), %d retries, %d timeouts; %s\n",
		st.Ops, st.OpsOK, st.OpsUnknown, st.Retries, st.Timeouts, r.Linearizable)
	fmt.Fprintf(&b, "  availability %.0f%% of %s windows; could commit in %.1f%% of those with operations outstanding, longest stall %s; settled %.2fs after healing",
		100*r.Availability(), sampleEvery, 100*r.CommitAvailability(), st.LongestStall, st.Recovery.Seconds())
	if len(r.Violations) == 0 {
		b.WriteString("; no violations")
	} else {
		fmt.Fprintf(&b, "; %d VIOLATIONS", len(r.Violations))
	}
	return b.String()
}

// ConfCounts counts configuration changes by kind: members added,
// learners promoted, voters demoted, members removed, and joint
// configurations entered.
type ConfCounts struct {
	Added, Promotions, Demotions, Removals, JointChanges int
}

func (c *ConfCounts) add(o ConfCounts) {
	c.Added += o.Added
	c.Promotions += o.Promotions
	c.Demotions += o.Demotions
	c.Removals += o.Removals
	c.JointChanges += o.JointChanges
}

// confBreakdown tells the kinds of configuration changes.
func (st *ConfCounts) confBreakdown() string {
	return fmt.Sprintf("%d members added, %d promoted, %d demoted, %d removed, %d joint changes",
		st.Added, st.Promotions, st.Demotions, st.Removals, st.JointChanges)
}

func faultBreakdown(c *[numFaultKinds]int) string {
	var parts []string
	for k, n := range c {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", FaultKind(k), n))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// Visualize writes porcupine's HTML view of the run's history to w (with
// the partial linearizations when it is not linearizable).
func (r *Result) Visualize(w io.Writer) error {
	model := KVModel()
	_, info := porcupine.CheckOperationsVerbose(model, r.History, linTimeout)
	return porcupine.Visualize(model, info, w)
}
