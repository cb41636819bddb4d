package sim

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tabraft/tabraft/raft"
)

// narrator tells a run as a person would like to read it: elections,
// faults, progress of the log once a second, the outcome. A nil writer
// keeps it silent at almost no cost.
type narrator struct {
	w io.Writer
	// commits already told.
	toldCommit uint64
	toldAt     time.Duration
}

func (n *narrator) on() bool { return n.w != nil }

func (n *narrator) say(at time.Duration, format string, args ...any) {
	if n.w == nil {
		return
	}
	fmt.Fprintf(n.w, "t=%s  %s\n", fmtTime(at), fmt.Sprintf(format, args...))
}

// fmtTime formats a virtual time in seconds with millisecond precision.
func fmtTime(d time.Duration) string { return fmt.Sprintf("%6.3fs", d.Seconds()) }

func (n *narrator) leader(at time.Duration, who raft.NodeID, term uint64, votes []raft.NodeID) {
	if !n.on() {
		return
	}
	names := make([]string, len(votes))
	for i, v := range votes {
		names[i] = nodeName(v)
	}
	n.say(at, "%s becomes leader of term %d (votes from %s)", nodeName(who), term, strings.Join(names, " "))
}

func (n *narrator) stepDown(at time.Duration, who raft.NodeID, was, now uint64) {
	if was == now {
		n.say(at, "%s steps down (lost touch with a quorum in term %d)", nodeName(who), was)
		return
	}
	n.say(at, "%s steps down: it learned of term %d", nodeName(who), now)
}

// fault tells a fault; leader says the member it hits was leading.
func (n *narrator) fault(at time.Duration, f Fault, leader bool) {
	if leader {
		n.say(at, "%s [the leader]", f)
		return
	}
	n.say(at, "%s", f)
}

// progress tells how far the log got since the last report.
func (n *narrator) progress(at time.Duration, commit uint64, last string) {
	if !n.on() || commit == n.toldCommit {
		return
	}
	span := at - n.toldAt
	if last != "" {
		last = ", latest: " + last
	}
	n.say(at, "commit index %d (+%d in %.1fs%s)", commit, commit-n.toldCommit, span.Seconds(), last)
	n.toldCommit, n.toldAt = commit, at
}
