package sim

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/tabraft/tabraft/raft"
)

// network is the links between members: which directed links are cut, and
// how messages on the others are delayed, lost and duplicated.
type network struct {
	cfg NetConfig
	n   int
	// cut[from*n+to] is true while messages from→to are lost.
	cut []bool
	// calm is set in the heal phase: no drops, duplicates or slow messages.
	calm bool
}

func newNetwork(cfg NetConfig, members int) *network {
	return &network{cfg: cfg, n: members, cut: make([]bool, members*members)}
}

// grow adds a member to the network, its links up.
func (nw *network) grow() {
	n := nw.n + 1
	cut := make([]bool, n*n)
	for a := range nw.n {
		copy(cut[a*n:a*n+nw.n], nw.cut[a*nw.n:(a+1)*nw.n])
	}
	nw.n, nw.cut = n, cut
}

// up reports whether messages from→to (member indexes) get through.
func (nw *network) up(from, to int) bool { return !nw.cut[from*nw.n+to] }

// partitioned reports whether any link is cut.
func (nw *network) partitioned() bool { return slices.Contains(nw.cut, true) }

// setCut replaces the cut links by links (directed, member indexes).
func (nw *network) setCut(links [][2]int) {
	clear(nw.cut)
	for _, l := range links {
		nw.cut[l[0]*nw.n+l[1]] = true
	}
}

// fate decides what happens to one message: the delays of its copies (none
// if it is lost). Drops and duplicates apply only outside the heal phase.
func (nw *network) fate(rng *rand.Rand, buf []time.Duration) []time.Duration {
	buf = buf[:0]
	if !nw.calm && nw.cfg.Drop > 0 && rng.Float64() < nw.cfg.Drop {
		return buf
	}
	buf = append(buf, nw.delay(rng))
	if !nw.calm && nw.cfg.Duplicate > 0 && rng.Float64() < nw.cfg.Duplicate {
		buf = append(buf, nw.delay(rng))
	}
	return buf
}

func (nw *network) delay(rng *rand.Rand) time.Duration {
	c := nw.cfg
	if !nw.calm && c.Slow > 0 && c.SlowDelay > 0 && rng.Float64() < c.Slow {
		return c.MinLatency + durN(rng, c.SlowDelay)
	}
	return c.MinLatency + durN(rng, c.MaxLatency-c.MinLatency+1)
}

// wireCopy returns m as the receiver sees it: a transport serializes a
// message when it is sent, so later changes to the sender's log (the
// core's Entries alias its log) must not reach a message in flight.
// Snapshot data is immutable once taken and is shared.
func wireCopy(m raft.Message) raft.Message {
	if len(m.Entries) > 0 {
		m.Entries = slices.Clone(m.Entries)
	}
	if m.Context != nil {
		m.Context = slices.Clone(m.Context)
	}
	return m
}
