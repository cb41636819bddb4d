package wasm

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/tabraft/tabraft/peer/board"
)

// scanOps is ParseOps' fast path for what JSON.stringify writes for an
// array of well-formed ops: no white space, objects with the fields op, key
// and val only, string values. It reports false for anything else (other
// fields, other value types, an invalid op, invalid UTF-8, any doubt), and
// ParseOps then takes the general path, which explains what is wrong. When
// it succeeds its ops are those the general path returns.
func scanOps(js []byte) ([]board.Op, bool) {
	s := scanner{b: js}
	if !s.eat('[') {
		return nil, false
	}
	ops := make([]board.Op, 0, bytes.Count(js, []byte("{")))
	if s.eat(']') {
		return ops, s.end()
	}
	for {
		op, ok := s.op()
		if !ok {
			return nil, false
		}
		ops = append(ops, op)
		if s.eat(']') {
			return ops, s.end()
		}
		if !s.eat(',') {
			return nil, false
		}
	}
}

type scanner struct {
	b []byte
	i int
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) end() bool { return s.i == len(s.b) }

// op reads {"op":…,"key":…,"val":…} with its fields in any order, each
// at most once, and checks it as ParseOp does.
func (s *scanner) op() (board.Op, bool) {
	var op board.Op
	if !s.eat('{') {
		return op, false
	}
	var seen [3]bool
	for first := true; !s.eat('}'); first = false {
		if !first && !s.eat(',') {
			return op, false
		}
		name, ok := s.str()
		if !ok || !s.eat(':') {
			return op, false
		}
		val, ok := s.str()
		if !ok {
			return op, false
		}
		var f int
		switch name {
		case "op":
			f, op.Kind = 0, val
		case "key":
			f, op.Key = 1, val
		case "val":
			f, op.Value = 2, val
		default:
			return op, false
		}
		if seen[f] {
			return op, false
		}
		seen[f] = true
	}
	switch op.Kind {
	case "set":
		ok := seen[1] && seen[2] && op.Key != "" && len(op.Key) <= board.MaxKeyLen && len(op.Value) <= board.MaxValueLen
		return op, ok
	case "del":
		op.Value = "" // ignored, as ParseOp does
		return op, seen[1] && op.Key != "" && len(op.Key) <= board.MaxKeyLen
	case "clear":
		op.Key, op.Value = "", ""
		return op, true
	}
	return op, false
}

// str reads a JSON string; escapes are decoded by encoding/json.
func (s *scanner) str() (string, bool) {
	if !s.eat('"') {
		return "", false
	}
	start := s.i
	escaped := false
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			raw := s.b[start:s.i]
			s.i++
			if escaped {
				var v string
				if err := json.Unmarshal(s.b[start-1:s.i], &v); err != nil {
					return "", false
				}
				return v, utf8.ValidString(v)
			}
			if !utf8.Valid(raw) {
				return "", false
			}
			return string(raw), true
		case c == '\\':
			escaped = true
			s.i += 2
			continue
		case c < 0x20:
			return "", false
		}
		s.i++
	}
	return "", false
}
