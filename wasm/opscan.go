package wasm

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/tabraft/tabraft/peer/board"
)

// scanCommands is ParseBatch's fast path for what JSON.stringify writes for
// an array of well-formed ops: no white space, objects with the fields op,
// key and val only, string values. It reports false for anything else
// (other fields, other value types, an invalid op, invalid UTF-8, any
// doubt), and ParseBatch then takes the general path, which explains what
// is wrong. When it succeeds its commands are those of the general path.
//
// An op whose JSON is already the command board.Op.Encode writes for it
// (fields in the order op, key, val, the ones Encode writes only, plain
// ASCII) is not copied: its command is a slice of js.
func scanCommands(js []byte) ([][]byte, bool) {
	s := scanner{b: js}
	if !s.eat('[') {
		return nil, false
	}
	cmds := make([][]byte, 0, countObjects(js))
	if s.eat(']') {
		return cmds, s.end()
	}
	for {
		o, ok := s.op()
		if !ok {
			return nil, false
		}
		cmd, ok := o.command(js)
		if !ok {
			op, ok := o.decode()
			if !ok {
				return nil, false
			}
			cmd = op.Encode()
		}
		cmds = append(cmds, cmd)
		if s.eat(']') {
			return cmds, s.end()
		}
		if !s.eat(',') {
			return nil, false
		}
	}
}

// countObjects counts the '{' in js: at least the ops of a batch.
func countObjects(js []byte) int {
	n := 0
	for _, c := range js {
		if c == '{' {
			n++
		}
	}
	return n
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

// Fields of an op, in the order Encode writes them.
const (
	fieldOp = iota
	fieldKey
	fieldVal
	numFields
)

// strField is a string field as it is in the JSON: its bytes between the
// quotes, escapes not decoded.
type strField struct {
	raw     []byte // between the quotes
	quoted  []byte // with them
	escaped bool
}

// str decodes the field.
func (f strField) str() (string, bool) {
	if !f.escaped {
		return string(f.raw), utf8.Valid(f.raw)
	}
	var v string
	if err := json.Unmarshal(f.quoted, &v); err != nil {
		return "", false
	}
	return v, utf8.ValidString(v)
}

// scannedOp is an object of string fields op, key and val, each at most
// once, as scanned.
type scannedOp struct {
	start, end int // the object's bytes in the input
	fields     [numFields]strField
	seen       [numFields]bool
	inOrder    bool // the fields present came in the order op, key, val
}

// op reads {"op":…,"key":…,"val":…} with its fields in any order, each at
// most once, and string values.
func (s *scanner) op() (scannedOp, bool) {
	o := scannedOp{start: s.i, inOrder: true}
	if !s.eat('{') {
		return o, false
	}
	last := -1
	for first := true; !s.eat('}'); first = false {
		if !first && !s.eat(',') {
			return o, false
		}
		name, ok := s.str()
		if !ok || name.escaped || !s.eat(':') {
			return o, false
		}
		val, ok := s.str()
		if !ok {
			return o, false
		}
		var f int
		switch string(name.raw) {
		case "op":
			f = fieldOp
		case "key":
			f = fieldKey
		case "val":
			f = fieldVal
		default:
			return o, false
		}
		if o.seen[f] {
			return o, false
		}
		o.seen[f], o.fields[f] = true, val
		o.inOrder = o.inOrder && f > last
		last = f
	}
	o.end = s.i
	return o, true
}

// command returns the op's JSON, a slice of js, if it is the command
// board.Op.Encode writes for the op ParseOp reads from it.
func (o *scannedOp) command(js []byte) ([]byte, bool) {
	if !o.inOrder || !o.seen[fieldOp] {
		return nil, false
	}
	var want [numFields]bool // the fields Encode writes
	key, val := o.fields[fieldKey].raw, o.fields[fieldVal].raw
	switch string(o.fields[fieldOp].raw) {
	case "set":
		want = [numFields]bool{true, true, true}
		if len(key) == 0 || len(key) > board.MaxKeyLen || len(val) == 0 || len(val) > board.MaxValueLen {
			return nil, false
		}
	case "del":
		want = [numFields]bool{true, true, false}
		if len(key) == 0 || len(key) > board.MaxKeyLen {
			return nil, false
		}
	case "clear":
		want = [numFields]bool{true, false, false}
	default:
		return nil, false
	}
	if o.seen != want {
		return nil, false
	}
	for f := range numFields {
		if o.seen[f] && (o.fields[f].escaped || !plain(o.fields[f].raw)) {
			return nil, false
		}
	}
	return js[o.start:o.end:o.end], true
}

// plain reports whether json.Marshal writes b as it is (printable ASCII
// that needs no escaping, not even HTML's).
func plain(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// decode returns the op and checks it as ParseOp does.
func (o *scannedOp) decode() (board.Op, bool) {
	var op board.Op
	var strs [numFields]string
	for f := range numFields {
		if !o.seen[f] {
			continue
		}
		s, ok := o.fields[f].str()
		if !ok {
			return op, false
		}
		strs[f] = s
	}
	op = board.Op{Kind: strs[fieldOp], Key: strs[fieldKey], Value: strs[fieldVal]}
	switch op.Kind {
	case "set":
		ok := o.seen[fieldKey] && o.seen[fieldVal] && op.Key != "" && len(op.Key) <= board.MaxKeyLen && len(op.Value) <= board.MaxValueLen
		return op, ok
	case "del":
		op.Value = "" // ignored, as ParseOp does
		return op, o.seen[fieldKey] && op.Key != "" && len(op.Key) <= board.MaxKeyLen
	case "clear":
		op.Key, op.Value = "", ""
		return op, true
	}
	return op, false
}

// str reads a JSON string, leaving its escapes as they are.
func (s *scanner) str() (strField, bool) {
	if !s.eat('"') {
		return strField{}, false
	}
	start := s.i
	escaped := false
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			f := strField{raw: s.b[start:s.i:s.i], quoted: s.b[start-1 : s.i+1 : s.i+1], escaped: escaped}
			s.i++
			return f, true
		case c == '\\':
			escaped = true
			s.i += 2
			continue
		case c < 0x20:
			return strField{}, false
		}
		s.i++
	}
	return strField{}, false
}
