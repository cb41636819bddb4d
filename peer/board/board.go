// Package board is the state machine of tabraft's collaborative demo: a
// shared board of cells (pixels, sticky notes: any key) that every member
// applies in the same order. It is deterministic and its Hash lets anyone
// see at a glance that two members agree.
package board

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
)

// Limits on one operation, so a hostile command cannot bloat the state.
const (
	MaxKeyLen   = 256
	MaxValueLen = 4096
)

// Op is one command, encoded as JSON.
type Op struct {
	// Kind is "set", "del" or "clear".
	Kind  string `json:"op"`
	Key   string `json:"key,omitempty"`
	Value string `json:"val,omitempty"`
}

// Result is what applying an Op returns.
type Result struct {
	// Version counts the operations applied so far, invalid ones included.
	Version uint64 `json:"version"`
	// Err is set when the operation was invalid (it changed nothing).
	Err string `json:"err,omitempty"`
}

// Encode returns op as a command for Propose.
func (op Op) Encode() []byte {
	if b, ok := appendOpFast(make([]byte, 0, 24+len(op.Kind)+len(op.Key)+len(op.Value)), op); ok {
		return b
	}
	b, _ := json.Marshal(op) // cannot fail: strings only
	return b
}

// EncodeResults returns rs as a JSON array, as json.Marshal writes it
// (nil too is written []).
func EncodeResults(rs []Result) []byte {
	if b, ok := appendResultsFast(make([]byte, 0, 2+16*len(rs)), rs); ok {
		return b
	}
	if rs == nil {
		rs = []Result{}
	}
	b, _ := json.Marshal(rs) // cannot fail: numbers and strings only
	return b
}

// Board is the state: cells by key, and how many operations built it.
// It is not safe for concurrent use; a member applies from one goroutine.
type Board struct {
	cells   map[string]string
	version uint64
}

// New returns an empty board.
func New() *Board { return &Board{cells: map[string]string{}} }

// Apply implements peer.StateMachine: it applies one JSON-encoded Op.
// Invalid operations are counted and answered with an error, identically
// on every member.
func (b *Board) Apply(cmd []byte) any {
	op, err := Decode(cmd)
	if err != nil {
		b.version++
		return Result{Version: b.version, Err: err.Error()}
	}
	return b.ApplyOp(op)
}

// ApplyOp applies an operation already decoded (by Decode), so that a
// caller who needs the Op too decodes the command once. It checks op and
// answers exactly as Apply does for op's encoding.
func (b *Board) ApplyOp(op Op) Result {
	b.version++
	if err := op.check(); err != nil {
		return Result{Version: b.version, Err: err.Error()}
	}
	switch op.Kind {
	case "set":
		b.cells[op.Key] = op.Value
	case "del":
		delete(b.cells, op.Key)
	case "clear":
		clear(b.cells)
	}
	return Result{Version: b.version}
}

// Decode reads a command (an Op's JSON) without checking the operation:
// ApplyOp does. It fails only on what is not JSON of an object.
func Decode(cmd []byte) (Op, error) {
	if op, ok := decodeFast(cmd); ok {
		return op, nil
	}
	var op Op
	if err := json.Unmarshal(cmd, &op); err != nil {
		return op, fmt.Errorf("board: not an operation: %w", err)
	}
	return op, nil
}

// check reports whether op is a valid operation.
func (op Op) check() error {
	switch op.Kind {
	case "set", "del":
		if op.Key == "" || len(op.Key) > MaxKeyLen {
			return fmt.Errorf("board: key must have 1 to %d bytes", MaxKeyLen)
		}
		if len(op.Value) > MaxValueLen {
			return fmt.Errorf("board: value over %d bytes", MaxValueLen)
		}
	case "clear":
	default:
		return fmt.Errorf("board: unknown operation %q", op.Kind)
	}
	return nil
}

// Get returns the value of a cell.
func (b *Board) Get(key string) (string, bool) {
	v, ok := b.cells[key]
	return v, ok
}

// Cells returns a copy of every cell.
func (b *Board) Cells() map[string]string { return maps.Clone(b.cells) }

// Version returns how many operations were applied.
func (b *Board) Version() uint64 { return b.version }

// Hash is a digest of the cells and the version: equal boards, equal hashes.
func (b *Board) Hash() string {
	h := fnv.New64a()
	keys := slices.Sorted(maps.Keys(b.cells))
	for _, k := range keys {
		fmt.Fprintf(h, "%d:%s=%d:%s;", len(k), k, len(b.cells[k]), b.cells[k])
	}
	fmt.Fprintf(h, "v%d", b.version)
	return strconv.FormatUint(h.Sum64(), 16)
}

type image struct {
	Version uint64            `json:"version"`
	Cells   map[string]string `json:"cells"`
}

// Snapshot implements peer.StateMachine. The image is the JSON of the
// version and the cells, keys sorted.
func (b *Board) Snapshot() ([]byte, error) {
	if img, ok := appendImageFast(make([]byte, 0, imageSize(b.cells)), b.version, b.cells); ok {
		return img, nil
	}
	return json.Marshal(image{Version: b.version, Cells: b.cells})
}

// Restore implements peer.StateMachine.
func (b *Board) Restore(data []byte) error {
	var img image
	if err := json.Unmarshal(data, &img); err != nil {
		return fmt.Errorf("board: restoring: %w", err)
	}
	if img.Cells == nil {
		if len(data) == 0 {
			return errors.New("board: restoring: empty image")
		}
		img.Cells = map[string]string{}
	}
	b.cells, b.version = img.Cells, img.Version
	return nil
}
