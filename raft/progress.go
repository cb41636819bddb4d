package raft

import "fmt"

// progressState is how the leader is replicating to one follower.
type progressState uint8

const (
	// stateProbe: the leader does not know where the follower's log matches
	// its own; it sends one MsgApp at a time and waits for the answer.
	stateProbe progressState = iota
	// stateReplicate: the logs match up to Match; the leader streams entries
	// optimistically, bounded by the inflight window.
	stateReplicate
	// stateSnapshot: the follower needs a snapshot; appends pause until the
	// transfer ends.
	stateSnapshot
)

func (s progressState) String() string {
	switch s {
	case stateProbe:
		return "probe"
	case stateReplicate:
		return "replicate"
	case stateSnapshot:
		return "snapshot"
	}
	return fmt.Sprintf("progressState(%d)", uint8(s))
}

// progress is the leader's view of one member's log.
type progress struct {
	match, next uint64
	state       progressState
	// probeSent: in stateProbe, a MsgApp is outstanding; the next one waits
	// for its answer or a heartbeat response.
	probeSent bool
	// recentActive: heard from during the current election timeout.
	recentActive bool
	// sentCommit is the commit index last sent, so a commit advance reaches
	// followers even when there are no new entries to carry it.
	sentCommit uint64
	// pendingSnapshot is the index of the snapshot being sent in stateSnapshot.
	pendingSnapshot uint64
	snapXfer        *snapshotInTransfer
	isLearner       bool
	inflights       inflights
}

func (p *progress) becomeProbe() {
	if p.state == stateSnapshot {
		// Resume right after the snapshot the follower was receiving.
		p.next = max(p.match+1, p.pendingSnapshot+1)
	} else {
		p.next = p.match + 1
	}
	p.state = stateProbe
	p.probeSent = false
	p.pendingSnapshot = 0
	p.snapXfer = nil
	p.inflights.reset()
}

func (p *progress) becomeReplicate() {
	p.state = stateReplicate
	p.next = p.match + 1
	p.probeSent = false
	p.pendingSnapshot = 0
	p.snapXfer = nil
	p.inflights.reset()
}

func (p *progress) becomeSnapshot(index uint64) {
	p.state = stateSnapshot
	p.pendingSnapshot = index
	p.probeSent = false
	p.inflights.reset()
}

// maybeUpdate records that the follower stores the log up to n; it reports
// whether that is news.
func (p *progress) maybeUpdate(n uint64) bool {
	updated := false
	if p.match < n {
		p.match = n
		updated = true
		p.probeSent = false
	}
	p.next = max(p.next, n+1)
	return updated
}

// paused reports whether the leader should hold further MsgApps.
func (p *progress) paused() bool {
	switch p.state {
	case stateProbe:
		return p.probeSent
	case stateReplicate:
		return p.inflights.full()
	}
	return true
}

func (p *progress) String() string {
	return fmt.Sprintf("%s match=%d next=%d inflight=%d", p.state, p.match, p.next, p.inflights.count)
}

// inflights is a ring of the MsgApps sent to a follower and not yet
// acknowledged, bounded both in count and in bytes.
type inflights struct {
	start, count int
	bytes        uint64
	maxBytes     uint64
	buf          []inflight // len is the count limit
}

type inflight struct {
	last  uint64 // last index carried by the message
	bytes uint64
}

func newInflights(maxCount int, maxBytes uint64) inflights {
	return inflights{buf: make([]inflight, maxCount), maxBytes: maxBytes}
}

func (in *inflights) add(last, bytes uint64) {
	i := (in.start + in.count) % len(in.buf)
	in.buf[i] = inflight{last: last, bytes: bytes}
	in.count++
	in.bytes += bytes
}

// freeLE drops every message whose last index is at most to.
func (in *inflights) freeLE(to uint64) {
	for in.count > 0 && in.buf[in.start].last <= to {
		in.bytes -= in.buf[in.start].bytes
		in.start = (in.start + 1) % len(in.buf)
		in.count--
	}
	if in.count == 0 {
		in.start = 0
	}
}

// freeFirst drops the oldest message, making room for a retry.
func (in *inflights) freeFirst() {
	if in.count > 0 {
		in.freeLE(in.buf[in.start].last)
	}
}

func (in *inflights) full() bool {
	return in.count == len(in.buf) || (in.maxBytes > 0 && in.bytes >= in.maxBytes)
}

func (in *inflights) reset() {
	in.start, in.count, in.bytes = 0, 0, 0
}
