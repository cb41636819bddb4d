package sim

import (
	"slices"
	"time"

	"github.com/tabraft/tabraft/raft"
)

// nemesisWake is the random nemesis acting, then scheduling its next move.
func (s *Simulation) nemesisWake() {
	if s.healed {
		return
	}
	if f, ok := s.pickFault(); ok {
		s.applyFault(f)
	}
	next := s.now + 1 + durN(s.rng, 2*s.cfg.FaultInterval)
	if next < s.cfg.Duration {
		s.schedule(event{at: next, kind: evFault, aux: -1})
	}
}

// strikeAfter lets the nemesis react to a promise member m just sent: it
// sometimes reboots the member right after it granted a vote or
// acknowledged entries, which is when losing unpersisted state would hurt.
func (s *Simulation) strikeAfter(m *member, msg *raft.Message) {
	if !s.cfg.Faults || s.cfg.Schedule != nil || s.healed {
		return
	}
	var p float64
	switch {
	case msg.Type == raft.MsgVoteResp && !msg.Reject:
		p = 0.1
	case msg.Type == raft.MsgAppResp && !msg.Reject:
		p = 0.0003
	default:
		return
	}
	if s.rng.Float64() < p {
		s.schedule(event{at: s.now + durN(s.rng, 2*time.Millisecond), kind: evFault, aux: strikeReboot, who: m.idx, epoch: m.epoch})
	}
}

// strikeReboot marks an evFault that reboots member who (if still in the
// same incarnation).
const strikeReboot = -2

// strike carries out a reboot scheduled by strikeAfter.
func (s *Simulation) strike(m *member, epoch uint64) {
	if s.healed || !m.up || m.epoch != epoch {
		return
	}
	s.applyFault(Fault{Kind: FaultReboot, Member: m.id, Downtime: time.Millisecond + durN(s.rng, 30*time.Millisecond)})
}

// pickFault chooses the nemesis's next action, weighted by what is
// possible now (restarts get likelier the more members are down).
func (s *Simulation) pickFault() (Fault, bool) {
	n := len(s.members)
	var up, down, running, paused, throttled []int
	for _, m := range s.members {
		if m.up && m.tickEvery != s.cfg.Tick {
			throttled = append(throttled, m.idx)
		}
		switch {
		case m.retired:
		case !m.up:
			down = append(down, m.idx)
		case m.paused:
			up = append(up, m.idx)
			paused = append(paused, m.idx)
		default:
			up = append(up, m.idx)
			running = append(running, m.idx)
		}
	}
	var w [numFaultKinds]int
	if n > 1 {
		w[FaultSplit], w[FaultIsolate], w[FaultOneWay], w[FaultPartial] = 2, 2, 1, 1
	}
	if s.net.partitioned() {
		w[FaultHeal] = 5
	}
	if len(up) > 0 {
		w[FaultCrash] = 2
	}
	w[FaultRestart] = 4 * len(down)
	if s.churn != nil {
		// Churn crashes members and brings them back (or not) itself.
		w[FaultCrash], w[FaultRestart] = 0, 0
	}
	if len(running) > 0 {
		w[FaultPause] = 1
	}
	w[FaultResume] = 4 * len(paused)
	if len(running) > 0 {
		w[FaultReboot] = 2
	}
	if len(up) > 0 {
		w[FaultThrottle] = 1 + 4*len(throttled)
	}
	if s.leader() >= 0 && n > 1 {
		w[FaultTransfer] = 1
	}
	total := 0
	for _, x := range w {
		total += x
	}
	if total == 0 {
		return Fault{}, false
	}
	r := s.rng.IntN(total)
	kind := FaultKind(0)
	for ; r >= w[kind]; kind++ {
		r -= w[kind]
	}
	f := Fault{Kind: kind}
	switch kind {
	case FaultSplit:
		perm := s.rng.Perm(n)
		cuts := []int{1 + s.rng.IntN(n-1)}
		if n >= 5 && s.rng.IntN(5) == 0 {
			// Three sides: nobody may have a majority.
			cuts = []int{1 + s.rng.IntN(n-2)}
			cuts = append(cuts, cuts[0]+1+s.rng.IntN(n-1-cuts[0]))
		}
		prev := 0
		for _, c := range append(cuts, n) {
			side := make([]raft.NodeID, 0, c-prev)
			for _, m := range perm[prev:c] {
				side = append(side, id(m))
			}
			slices.Sort(side)
			f.Sides = append(f.Sides, side)
			prev = c
		}
	case FaultIsolate, FaultOneWay:
		among := allMembers(n)
		if s.churn != nil && len(up) > 0 {
			among = up // most ids of a churn run are gone for good
		}
		f.Member = id(s.target(among, 2))
		f.Inbound = s.rng.IntN(2) == 0
	case FaultPartial:
		for a := range n {
			for b := a + 1; b < n; b++ {
				if s.rng.IntN(3) == 0 {
					f.Pairs = append(f.Pairs, [2]raft.NodeID{id(a), id(b)})
				}
			}
		}
		if len(f.Pairs) == 0 {
			a := s.rng.IntN(n)
			f.Pairs = [][2]raft.NodeID{{id(a), id((a + 1) % n)}}
		}
	case FaultCrash:
		f.Member = id(s.target(up, 3))
	case FaultRestart:
		f.Member = id(down[s.rng.IntN(len(down))])
	case FaultPause:
		f.Member = id(s.target(running, 3))
	case FaultResume:
		f.Member = id(paused[s.rng.IntN(len(paused))])
	case FaultReboot:
		f.Member = id(s.target(running, 3))
		f.Downtime = time.Millisecond + durN(s.rng, 150*time.Millisecond)
	case FaultTransfer:
		if s.rng.IntN(3) > 0 {
			f.Member = id(s.rng.IntN(n))
		}
	case FaultThrottle:
		// Mostly undo a throttle; else throttle someone (often the leader).
		if len(throttled) > 0 && s.rng.IntN(5) > 0 {
			f.Member = id(throttled[s.rng.IntN(len(throttled))])
		} else {
			f.Member = id(s.target(up, 2))
			f.Interval = []time.Duration{100 * time.Millisecond, 250 * time.Millisecond, time.Second}[s.rng.IntN(3)]
		}
	}
	return f, true
}

// target picks a member of among, the leader with probability 1/oneIn
// when it is among them (faults that hit the leader are the interesting ones).
func (s *Simulation) target(among []int, oneIn int) int {
	if l := s.leader(); l >= 0 && slices.Contains(among, l) && s.rng.IntN(oneIn) == 0 {
		return l
	}
	return among[s.rng.IntN(len(among))]
}

func allMembers(n int) []int {
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	return all
}

// leader returns the live member that leads the highest term, or -1.
func (s *Simulation) leader() int {
	best := -1
	for i, v := range s.view {
		if s.members[i].up && v.role == raft.Leader && (best < 0 || v.term > s.view[best].term) {
			best = i
		}
	}
	return best
}

// applyFault carries out a fault.
func (s *Simulation) applyFault(f Fault) {
	m := (*member)(nil)
	if f.Member != raft.None {
		m = s.members[f.Member-1]
	}
	switch f.Kind {
	case FaultCrash:
		if !m.up {
			return
		}
	case FaultRestart:
		if m.up {
			return
		}
	case FaultPause:
		if !m.up || m.paused {
			return
		}
	case FaultResume:
		if !m.paused {
			return
		}
	case FaultReboot, FaultThrottle:
		if !m.up {
			return
		}
	case FaultTransfer:
		if s.leader() < 0 {
			return
		}
	}
	s.stats.Faults++
	s.stats.FaultCounts[f.Kind]++
	if f.Kind == FaultTransfer {
		s.nar.say(s.now, "%s, the leader, %s", nodeName(id(s.leader())), f)
	} else {
		s.nar.fault(s.now, f, m != nil && m.up && s.leader() == m.idx)
	}
	s.trace.mix(uint64(f.Kind), uint64(f.Member))
	switch f.Kind {
	case FaultSplit, FaultIsolate, FaultOneWay, FaultPartial, FaultHeal:
		s.net.setCut(f.cutLinks(len(s.members)))
	case FaultCrash:
		s.crash(m)
	case FaultRestart:
		s.startMember(m)
		s.pump(m)
	case FaultPause:
		m.paused = true
		if s.churn != nil {
			// A frozen tab thaws within twice the dead timeout: a longer
			// freeze is a crash the planner handles, and the proposals
			// waiting in a frozen leader's inbox all meanwhile make a
			// history porcupine cannot decide.
			s.schedule(event{at: s.now + durN(s.rng, 2*s.churn.cfg.DeadTimeout) + 1, kind: evChurn, sub: churnThaw, who: m.idx, epoch: m.epoch})
		}
	case FaultResume:
		s.resume(m)
	case FaultReboot:
		s.crash(m)
		s.schedule(event{at: s.now + f.Downtime, kind: evRestart, who: m.idx, epoch: m.epoch})
	case FaultTransfer:
		l := s.members[s.leader()]
		l.inbox = append(l.inbox, input{kind: inTransfer, peer: f.Member})
		s.pump(l)
	case FaultThrottle:
		m.tickEvery = f.Interval
		if f.Interval == 0 {
			m.tickEvery = s.cfg.Tick
		}
	}
}

// resume thaws a paused member, finishing a write that completed meanwhile.
func (s *Simulation) resume(m *member) {
	m.paused = false
	if m.writeDone {
		m.writeDone = false
		s.persistedEvent(m)
	}
	s.pump(m)
}
