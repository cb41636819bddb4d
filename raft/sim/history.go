package sim

import (
	"fmt"
	"hash/fnv"
	"io"
	"time"

	"github.com/anishathalye/porcupine"
)

// KVInput is a client operation as porcupine sees it. sum is the value's
// digest for the fast model (see valueDigest).
type KVInput struct {
	Op    OpKind
	Key   string
	Value string
	sum   uint64
}

// KVOutput is an operation's answer. Unknown marks an operation whose
// client never learned the outcome: it may or may not have taken effect.
type KVOutput struct {
	Value   string
	Unknown bool
	sum     uint64
}

// newInput returns the input of an operation, with its digest.
func newInput(op OpKind, key, value string) KVInput {
	in := KVInput{Op: op, Key: key, Value: value}
	switch op {
	case OpPut:
		in.sum = valueDigest(value)
	case OpAppend:
		in.sum = mixBytes(fnvOffset, []byte(value))
	}
	return in
}

// newOutput returns an answer, with its digest.
func newOutput(value string) KVOutput { return KVOutput{Value: value, sum: valueDigest(value)} }

// valueDigest digests a value as the fast model builds it: the value a put
// wrote, then one step per appended "[tag]". Puts write tags without
// brackets and appends add exactly one bracketed tag, so the digest of a
// value read back equals the digest the model reaches by the same writes.
// A value that does not parse gets a digest no sequence of writes yields.
func valueDigest(v string) uint64 {
	i := 0
	for i < len(v) && v[i] != '[' {
		i++
	}
	h := mix(fnvOffset, mixBytes(fnvOffset, []byte(v[:i])))
	for i < len(v) {
		j := i + 1
		for j < len(v) && v[j] != ']' && v[j] != '[' {
			j++
		}
		if j == len(v) || v[j] != ']' {
			return ^mixBytes(fnvOffset, []byte(v))
		}
		h = mix(h, mixBytes(fnvOffset, []byte(v[i:j+1])))
		i = j + 1
	}
	return h
}

// byKey partitions a history by key: the store is linearizable if and
// only if each key's history is.
func byKey(history []porcupine.Operation) [][]porcupine.Operation {
	index := map[string]int{}
	var parts [][]porcupine.Operation
	for _, op := range history {
		k := op.Input.(KVInput).Key
		i, ok := index[k]
		if !ok {
			i = len(parts)
			index[k] = i
			parts = append(parts, nil)
		}
		parts[i] = append(parts[i], op)
	}
	return parts
}

// fastKVModel is KVModel with each key's value replaced by its digest:
// the same answers, without copying and hashing ever longer strings at
// every step of the search. The checks use it; visualizations use KVModel.
func fastKVModel() porcupine.Model {
	return porcupine.Model{
		Partition: byKey,
		Init:      func() any { return valueDigest("") },
		Step: func(state, input, output any) (bool, any) {
			st, in, out := state.(uint64), input.(KVInput), output.(KVOutput)
			switch in.Op {
			case OpGet, OpRead:
				return out.Unknown || out.sum == st, st
			case OpPut:
				return true, in.sum
			case OpAppend:
				return true, mix(st, in.sum)
			}
			return false, st
		},
		Hash: func(state any) uint64 { return state.(uint64) },
	}
}

// KVModel is the sequential specification of the key-value store,
// partitioned by key.
func KVModel() porcupine.Model {
	return porcupine.Model{
		Partition: byKey,
		Init:      func() any { return "" },
		Step: func(state, input, output any) (bool, any) {
			st, in, out := state.(string), input.(KVInput), output.(KVOutput)
			switch in.Op {
			case OpGet, OpRead:
				return out.Unknown || out.Value == st, st
			case OpPut:
				return true, in.Value
			case OpAppend:
				return true, st + in.Value
			}
			return false, st
		},
		Hash: func(state any) uint64 {
			h := fnv.New64a()
			_, _ = io.WriteString(h, state.(string))
			return h.Sum64()
		},
		DescribeOperation: func(input, output any) string {
			in, out := input.(KVInput), output.(KVOutput)
			suffix := ""
			if out.Unknown {
				suffix = " (outcome unknown)"
			}
			switch in.Op {
			case OpGet, OpRead:
				if out.Unknown {
					return fmt.Sprintf("%s(%q)%s", in.Op, in.Key, suffix)
				}
				return fmt.Sprintf("%s(%q) → %q", in.Op, in.Key, out.Value)
			case OpPut:
				return fmt.Sprintf("put(%q, %q)%s", in.Key, in.Value, suffix)
			}
			return fmt.Sprintf("append(%q, %q)%s", in.Key, in.Value, suffix)
		},
		DescribeState: func(state any) string { return fmt.Sprintf("%q", state.(string)) },
	}
}

// history records client operations as they are called and answered,
// and which of them a state machine executed.
type history struct {
	ops []porcupine.Operation
	ran []bool
	// ranAt is when a state machine first executed the operation (0:
	// unknown).
	ranAt []time.Duration
	byID  map[logPos]int // (client, seq) → handle
}

// call records the start of operation seq of client and returns its handle.
func (h *history) call(client int, seq uint64, in KVInput, at time.Duration) int {
	if h.byID == nil {
		h.byID = map[logPos]int{}
	}
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: int64(at), Return: -1})
	h.ran = append(h.ran, false)
	h.ranAt = append(h.ranAt, 0)
	h.byID[logPos{uint64(client), seq}] = len(h.ops) - 1
	return len(h.ops) - 1
}

// executed records that a state machine executed operation seq of client
// at time at (the first member to apply its command did; the others
// agree, as the invariants check).
func (h *history) executed(client int, seq uint64, at time.Duration) {
	if op, ok := h.byID[logPos{uint64(client), seq}]; ok && !h.ran[op] {
		h.ran[op], h.ranAt[op] = true, at
	}
}

// answer records the operation's outcome.
func (h *history) answer(op int, value string, at time.Duration) {
	h.ops[op].Output = newOutput(value)
	h.ops[op].Return = int64(at)
}

// abandon records that the client gave up on the operation.
func (h *history) abandon(op int) {
	h.ops[op].Output = KVOutput{Unknown: true}
}

// operations returns the history porcupine checks, closed at end. An
// operation without an answer took effect, if at all, at some time after
// its call: reads without an answer change nothing, and neither do writes
// no state machine ever executed, so both are left out. A write that was
// executed took effect when its entry committed, which is after its call
// and no later than the first state machine executed it (an entry is
// applied only once committed): it returns then. (Returning at the end of
// time would be sound too, but each such write open to the end multiplies
// the orders porcupine must try; a long stall abandons many.)
func (h *history) operations(end time.Duration) []porcupine.Operation {
	out := make([]porcupine.Operation, 0, len(h.ops))
	for i, op := range h.ops {
		if op.Return < 0 {
			if k := op.Input.(KVInput).Op; k == OpGet || k == OpRead || !h.ran[i] {
				continue
			}
			op.Output = KVOutput{Unknown: true}
			op.Return = int64(end)
			if at := h.ranAt[i]; at > 0 {
				op.Return = int64(at)
			}
		}
		out = append(out, op)
	}
	return out
}
