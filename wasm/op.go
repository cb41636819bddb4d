package wasm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tabraft/tabraft/peer/board"
)

// ErrInvalidOp is wrapped by ParseOp's errors.
var ErrInvalidOp = errors.New("invalid op")

// ParseOp reads one operation as JavaScript's JSON.stringify wrote it and
// checks it the way the board will, so that a malformed op is refused
// before it is replicated: {op: "set", key, val}, {op: "del", key} or
// {op: "clear"}, with strings for key and val, a key of 1 to
// board.MaxKeyLen bytes and a value of at most board.MaxValueLen bytes.
// Other fields are ignored.
func ParseOp(js []byte) (board.Op, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(js, &raw); err != nil || raw == nil {
		return board.Op{}, fmt.Errorf("%w: not an object", ErrInvalidOp)
	}
	var op board.Op
	kind, err := stringField(raw, "op")
	if err != nil {
		return op, err
	}
	op.Kind = kind
	switch kind {
	case "set", "del":
		if op.Key, err = stringField(raw, "key"); err != nil {
			return op, err
		}
		if op.Key == "" || len(op.Key) > board.MaxKeyLen {
			return op, fmt.Errorf("%w: key must have 1 to %d bytes", ErrInvalidOp, board.MaxKeyLen)
		}
		if kind == "set" {
			if op.Value, err = stringField(raw, "val"); err != nil {
				return op, err
			}
			if len(op.Value) > board.MaxValueLen {
				return op, fmt.Errorf("%w: val over %d bytes", ErrInvalidOp, board.MaxValueLen)
			}
		}
	case "clear":
	default:
		return op, fmt.Errorf("%w: op must be \"set\", \"del\" or \"clear\", not %q", ErrInvalidOp, kind)
	}
	return op, nil
}

// ParseBatch reads an array of operations (proposeBatch), each as ParseOp
// does, and returns them as commands (board.Op.Encode).
func ParseBatch(js []byte) ([][]byte, error) {
	if cmds, ok := scanCommands(js); ok {
		return cmds, nil
	}
	ops, err := parseOpsJSON(js)
	if err != nil {
		return nil, err
	}
	cmds := make([][]byte, len(ops))
	for i, op := range ops {
		cmds[i] = op.Encode()
	}
	return cmds, nil
}

// parseOpsJSON is ParseBatch's general path.
func parseOpsJSON(js []byte) ([]board.Op, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(js, &raws); err != nil {
		return nil, fmt.Errorf("%w: not an array of ops", ErrInvalidOp)
	}
	ops := make([]board.Op, len(raws))
	for i, r := range raws {
		op, err := ParseOp(r)
		if err != nil {
			return nil, fmt.Errorf("op %d: %w", i, err)
		}
		ops[i] = op
	}
	return ops, nil
}

func stringField(raw map[string]json.RawMessage, name string) (string, error) {
	v, ok := raw[name]
	if !ok || bytes.Equal(v, []byte("null")) {
		return "", fmt.Errorf("%w: %s is missing", ErrInvalidOp, name)
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("%w: %s must be a string", ErrInvalidOp, name)
	}
	return s, nil
}
