package sim

import (
	"maps"
	"slices"
)

// ledger is the end-to-end check that no acknowledged write is lost,
// independent of the log: it records every write a state machine
// executed (at the index it first ran) and every write a client was told
// succeeded. Once the cluster settles, every acknowledged write must have
// been executed, and every member's state must equal the replay of all
// the writes ever executed, in index order: a write executed somewhere and
// then dropped from the log (a committed entry lost to a membership
// mistake) leaves the survivors' state without it.
type ledger struct {
	// writes holds, by log index, the write first executed there.
	writes map[uint64]Command
	// ran holds the (client, seq) of every write executed.
	ran map[logPos]bool
	// acked lists the writes acknowledged to their client.
	acked []logPos
}

// executed records a write a state machine executed at index.
func (l *ledger) executed(index uint64, cmd Command) {
	if cmd.Op != OpPut && cmd.Op != OpAppend {
		return
	}
	if l.writes == nil {
		l.writes, l.ran = map[uint64]Command{}, map[logPos]bool{}
	}
	if _, ok := l.writes[index]; !ok {
		l.writes[index] = cmd
	}
	l.ran[logPos{uint64(cmd.Client), cmd.Seq}] = true
}

// acknowledged records a write answered to its client.
func (l *ledger) acknowledged(cmd Command) {
	if cmd.Op == OpPut || cmd.Op == OpAppend {
		l.acked = append(l.acked, logPos{uint64(cmd.Client), cmd.Seq})
	}
}

// replay is the key-value map the executed writes build.
func (l *ledger) replay() map[string]string {
	kv := map[string]string{}
	for _, i := range slices.Sorted(maps.Keys(l.writes)) {
		c := l.writes[i]
		switch c.Op {
		case OpPut:
			kv[c.Key] = c.Value
		case OpAppend:
			kv[c.Key] += c.Value
		}
	}
	return kv
}

// checkLedger runs the ledger's check on the settled cluster: the members
// of the newest configuration, all caught up.
func (s *Simulation) checkLedger() {
	l := &s.ledger
	for _, a := range l.acked {
		if !l.ran[a] {
			s.check.fail(AckedWriteLost, "client %d's write %d was acknowledged but no state machine ever executed it", a.a, a.b)
			return
		}
	}
	want := l.replay()
	latest := s.check.conf.latest()
	in := latest.voters() | latest.learners
	for _, m := range s.members {
		if in&(1<<m.idx) == 0 || !m.up || m.kv == nil {
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(want)) {
			if got := m.kv.data[k]; got != want[k] {
				s.check.fail(AckedWriteLost, "n%d holds %s=%q; the writes executed make it %q", m.id, k, got, want[k])
				return
			}
		}
		if len(m.kv.data) != len(want) {
			s.check.fail(AckedWriteLost, "n%d holds %d keys; the writes executed make %d", m.id, len(m.kv.data), len(want))
			return
		}
	}
}
