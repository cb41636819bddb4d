package sim

import (
	"time"

	"github.com/tabraft/tabraft/raft"
)

// eventKind says what an event does when its time comes.
type eventKind uint8

const (
	// evTick: a member's host ticks its core (who = member).
	evTick eventKind = iota
	// evDeliver: msg arrives at member who.
	evDeliver
	// evPersisted: member who's synced write completes.
	evPersisted
	// evClient: client who wakes up (sub says why).
	evClient
	// evFault: the nemesis acts (aux = index into Config.Schedule, or -1
	// for the random nemesis).
	evFault
	// evHeal: the fault phase ends; every fault is healed.
	evHeal
	// evSample: periodic bookkeeping (availability, liveness, narration).
	evSample
	// evRestart: member who, down since a reboot, starts again.
	evRestart
	// evMembership: the nemesis changes the configuration (sub 1: a retry
	// that does not schedule the next change).
	evMembership
	// evAutopilot: member who's host asks the membership planner (churn).
	evAutopilot
	// evChurn: a member arrives, leaves, crashes or comes back (sub says
	// which, see churnWake).
	evChurn
)

// event is one thing that happens at a virtual time. Events with equal
// times happen in the order they were scheduled.
type event struct {
	at   time.Duration
	seq  uint64
	kind eventKind
	sub  uint8
	who  int
	// epoch is the incarnation of the member (or the attempt token of the
	// client) the event was scheduled for; a stale event is ignored.
	epoch uint64
	aux   int
	msg   raft.Message
}

// eventQueue is a binary min-heap of events ordered by (at, seq).
type eventQueue struct {
	items []event
	seq   uint64
}

func (q *eventQueue) len() int { return len(q.items) }

func (q *eventQueue) less(i, j int) bool {
	a, b := &q.items[i], &q.items[j]
	return a.at < b.at || (a.at == b.at && a.seq < b.seq)
}

func (q *eventQueue) push(e event) {
	q.seq++
	e.seq = q.seq
	q.items = append(q.items, e)
	for i := len(q.items) - 1; i > 0; {
		p := (i - 1) / 2
		if !q.less(i, p) {
			break
		}
		q.items[i], q.items[p] = q.items[p], q.items[i]
		i = p
	}
}

func (q *eventQueue) pop() event {
	top := q.items[0]
	last := len(q.items) - 1
	q.items[0] = q.items[last]
	q.items[last] = event{}
	q.items = q.items[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && q.less(l, m) {
			m = l
		}
		if r < last && q.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		q.items[i], q.items[m] = q.items[m], q.items[i]
		i = m
	}
	return top
}
