package sim

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestLinearizabilityCheck(t *testing.T) {
	ms := time.Millisecond
	put := KVInput{Op: OpPut, Key: "x", Value: "1"}
	get := KVInput{Op: OpGet, Key: "x"}
	app := KVInput{Op: OpAppend, Key: "x", Value: "2"}

	// A read that misses a write completed before it started.
	var h history
	h.answer(h.callN(0, put, 0), "", 10*ms)
	h.answer(h.callN(1, get, 20*ms), "", 30*ms)
	if got := checkLinearizable(h.operations(time.Second)); got != LinIllegal {
		t.Fatalf("stale read: %s", got)
	}

	// The same read concurrent with the write is fine.
	h = history{}
	h.answer(h.callN(0, put, 0), "", 25*ms)
	h.answer(h.callN(1, get, 20*ms), "", 30*ms)
	if got := checkLinearizable(h.operations(time.Second)); got != LinOK {
		t.Fatalf("concurrent read: %s", got)
	}

	// An append whose client gave up may have happened later...
	h = history{}
	h.answer(h.callN(0, put, 0), "", 10*ms)
	h.abandon(h.ranOp(h.callN(1, app, 20*ms)))
	h.answer(h.callN(2, get, 500*ms), "12", 510*ms)
	if got := checkLinearizable(h.operations(time.Second)); got != LinOK {
		t.Fatalf("abandoned append seen later: %s", got)
	}
	// ... but not before it was called.
	h = history{}
	h.answer(h.callN(0, put, 0), "", 10*ms)
	h.answer(h.callN(2, get, 12*ms), "12", 15*ms)
	h.abandon(h.ranOp(h.callN(1, app, 20*ms)))
	if got := checkLinearizable(h.operations(time.Second)); got != LinIllegal {
		t.Fatalf("effect before the call: %s", got)
	}
	// Unanswered reads are left out, and so are unanswered writes that
	// never ran; those that ran stay in and return at the end.
	h = history{}
	h.callN(0, get, 0)
	h.callN(1, put, 0)
	h.ranOp(h.callN(2, app, 0))
	ops := h.operations(time.Second)
	if len(ops) != 1 || ops[0].Input.(KVInput).Op != OpAppend || ops[0].Return != int64(time.Second) {
		t.Fatalf("closed history %+v", ops)
	}
	// A write whose client gave up but that ran, seen by a later read.
	h = history{}
	h.abandon(h.callN(1, app, 0))
	h.executed(1, 1)
	h.answer(h.callN(2, get, 500*ms), "2", 510*ms)
	if got := checkLinearizable(h.operations(time.Second)); got != LinOK {
		t.Fatalf("executed abandoned append: %s", got)
	}
}

// callN records an operation with a fresh sequence number.
func (h *history) callN(client int, in KVInput, at time.Duration) int {
	return h.call(client, uint64(len(h.ops)+1), in, at)
}

// ranOp marks operation op executed.
func (h *history) ranOp(op int) int {
	h.ran[op] = true
	return op
}

func TestVisualize(t *testing.T) {
	var h history
	h.answer(h.callN(0, KVInput{Op: OpPut, Key: "x", Value: "1"}, 0), "", 10)
	h.answer(h.callN(1, KVInput{Op: OpGet, Key: "x"}, 20), "0", 30)
	r := Result{History: h.operations(100)}
	var b bytes.Buffer
	if err := r.Visualize(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "<html") || !strings.Contains(b.String(), `get(\"x\")`) {
		t.Fatalf("visualization lacks the history (%d bytes)", b.Len())
	}
}
