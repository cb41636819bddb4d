package sim

import (
	"time"

	"github.com/tabraft/tabraft/raft"
)

// trace folds everything that happens in a run into one hash: two runs
// with the same hash took the same steps, which is how determinism is
// tested.
type trace struct{ h uint64 }

func newTrace() trace { return trace{h: fnvOffset} }

func (t *trace) mix(vs ...uint64) {
	for _, v := range vs {
		t.h = mix(t.h, v)
	}
}

// event records a dispatched event.
func (t *trace) event(e *event) {
	t.mix(uint64(e.at), uint64(e.kind)<<8|uint64(e.sub), uint64(e.who), e.epoch)
}

// message records a message as it is sent.
func (t *trace) message(at time.Duration, m *raft.Message) {
	t.mix(uint64(at), uint64(m.Type), uint64(m.From)<<32|uint64(m.To), m.Term, m.Index, m.LogTerm,
		m.Commit, uint64(len(m.Entries)))
}
