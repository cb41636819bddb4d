package sim

import (
	"math/rand/v2"
	"strconv"

	"bytes"
	"github.com/anishathalye/porcupine"
	"strings"
	"testing"
	"time"
)

func TestLinearizabilityCheck(t *testing.T) {
	ms := time.Millisecond
	put := newInput(OpPut, "x", "1")
	get := newInput(OpGet, "x", "")
	app := newInput(OpAppend, "x", "[2]")

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
	h.answer(h.callN(2, get, 500*ms), "1[2]", 510*ms)
	if got := checkLinearizable(h.operations(time.Second)); got != LinOK {
		t.Fatalf("abandoned append seen later: %s", got)
	}
	// ... but not before it was called.
	h = history{}
	h.answer(h.callN(0, put, 0), "", 10*ms)
	h.answer(h.callN(2, get, 12*ms), "1[2]", 15*ms)
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
	h.executed(1, 1, 100*ms)
	h.answer(h.callN(2, get, 500*ms), "[2]", 510*ms)
	if got := checkLinearizable(h.operations(time.Second)); got != LinOK {
		t.Fatalf("executed abandoned append: %s", got)
	}
	// It took effect by the time it ran: a read that starts later and
	// misses it is stale.
	h = history{}
	h.abandon(h.callN(1, app, 0))
	h.executed(1, 1, 100*ms)
	h.answer(h.callN(2, get, 500*ms), "", 510*ms)
	if ops := h.operations(time.Second); ops[0].Return != int64(100*ms) || checkLinearizable(ops) != LinIllegal {
		t.Fatalf("read missing an executed append: %s on %+v", checkLinearizable(ops), ops)
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
	h.answer(h.callN(0, newInput(OpPut, "x", "1"), 0), "", 10)
	h.answer(h.callN(1, newInput(OpGet, "x", ""), 20), "0", 30)
	r := Result{History: h.operations(100)}
	var b bytes.Buffer
	if err := r.Visualize(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "<html") || !strings.Contains(b.String(), `get(\"x\")`) {
		t.Fatalf("visualization lacks the history (%d bytes)", b.Len())
	}
}

// TestFastModelAgrees: on random small histories the digest model and the
// string model reach the same verdict.
func TestFastModelAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	verdicts := map[bool]int{}
	for range 400 {
		var h history
		values := map[int]string{}
		for i := range 8 {
			call := time.Duration(rng.IntN(100))
			ret := call + time.Duration(1+rng.IntN(30))
			tag := strconv.Itoa(i)
			var op int
			switch rng.IntN(3) {
			case 0:
				op = h.callN(i%3, newInput(OpPut, "x", tag), call)
			case 1:
				op = h.callN(i%3, newInput(OpAppend, "x", "["+tag+"]"), call)
			default:
				op = h.callN(i%3, newInput(OpGet, "x", ""), call)
				values[op] = ""
			}
			if rng.IntN(6) == 0 {
				h.abandon(op)
				h.ran[op] = true
				continue
			}
			// Reads see a plausible-looking value built from earlier tags.
			if _, isRead := values[op]; isRead {
				v := ""
				for j := range rng.IntN(3) {
					v += "[" + strconv.Itoa(rng.IntN(i+1)+j) + "]"
				}
				if rng.IntN(2) == 0 {
					v = strconv.Itoa(rng.IntN(i+1)) + v
				}
				h.answer(op, v, ret)
				continue
			}
			h.answer(op, "", ret)
		}
		ops := h.operations(200)
		fast := porcupine.CheckOperations(fastKVModel(), ops)
		slow := porcupine.CheckOperations(KVModel(), ops)
		if fast != slow {
			t.Fatalf("fast model says %v, string model %v, on %+v", fast, slow, ops)
		}
		verdicts[fast]++
	}
	if verdicts[true] < 20 || verdicts[false] < 20 {
		t.Fatalf("too one-sided to compare the models: %v", verdicts)
	}
}

func TestValueDigest(t *testing.T) {
	if valueDigest("3.1[0.2][1.4]") != mix(valueDigest("3.1[0.2]"), mixBytes(fnvOffset, []byte("[1.4]"))) {
		t.Fatal("appending a tag is not one step of the digest")
	}
	for _, bad := range []string{"[0.2", "1.4]", "[[x]]", "a[b]c"} {
		for _, good := range []string{"", "a", "[0.2]", "1.4", "[b]"} {
			if valueDigest(bad) == valueDigest(good) {
				t.Errorf("malformed %q digests like %q", bad, good)
			}
		}
	}
}
