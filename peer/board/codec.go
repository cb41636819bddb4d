package board

import (
	"slices"
	"strconv"
	"unicode/utf8"
)

// The fast paths below read and write the commands Encode writes for the
// common case (ASCII text that needs no escaping) without reflection; for
// anything else they give up and encoding/json does the work, so that the
// bytes and the decoded values are always those of encoding/json.

// appendOpFast appends op's JSON as json.Marshal writes it, or reports
// false if a string needs escaping or is not ASCII.
func appendOpFast(b []byte, op Op) ([]byte, bool) {
	if !plain(op.Kind) || !plain(op.Key) || !plain(op.Value) {
		return b, false
	}
	b = append(b, `{"op":"`...)
	b = append(b, op.Kind...)
	b = append(b, '"')
	if op.Key != "" {
		b = append(b, `,"key":"`...)
		b = append(b, op.Key...)
		b = append(b, '"')
	}
	if op.Value != "" {
		b = append(b, `,"val":"`...)
		b = append(b, op.Value...)
		b = append(b, '"')
	}
	return append(b, '}'), true
}

// plain reports whether json.Marshal writes s as it is, between quotes.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= utf8.RuneSelf, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// decodeFast reads {"op":…} with optional "key" and "val" fields, in
// this order, each a string of printable ASCII without escapes, and no
// white space; it reports false for anything else.
func decodeFast(cmd []byte) (Op, bool) {
	var op Op
	rest, ok := cutPrefix(cmd, `{"op":`)
	if !ok {
		return op, false
	}
	var kind []byte
	if kind, rest, ok = plainBytes(rest); !ok {
		return op, false
	}
	op.Kind = kindString(kind)
	if r, ok := cutPrefix(rest, `,"key":`); ok {
		if op.Key, rest, ok = plainString(r); !ok {
			return op, false
		}
	}
	if r, ok := cutPrefix(rest, `,"val":`); ok {
		if op.Value, rest, ok = plainString(r); !ok {
			return op, false
		}
	}
	return op, len(rest) == 1 && rest[0] == '}'
}

func cutPrefix(b []byte, p string) ([]byte, bool) {
	if len(b) < len(p) || string(b[:len(p)]) != p {
		return b, false
	}
	return b[len(p):], true
}

// plainString reads a quoted string of printable ASCII without escapes.
func plainString(b []byte) (string, []byte, bool) {
	s, rest, ok := plainBytes(b)
	if !ok {
		return "", b, false
	}
	return string(s), rest, true
}

// plainBytes is plainString returning the string's bytes, within b.
func plainBytes(b []byte) ([]byte, []byte, bool) {
	if len(b) == 0 || b[0] != '"' {
		return nil, b, false
	}
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return b[1:i], b[i+1:], true
		case c < 0x20 || c >= utf8.RuneSelf || c == '\\':
			return nil, b, false
		}
	}
	return nil, b, false
}

// kindString returns b as a string, without allocating for the kinds of
// operations there are.
func kindString(b []byte) string {
	switch string(b) {
	case "set":
		return "set"
	case "del":
		return "del"
	case "clear":
		return "clear"
	}
	return string(b)
}

// appendResultsFast appends rs as json.Marshal writes a []Result, or
// reports false if one has an error (whose text may need escaping).
func appendResultsFast(b []byte, rs []Result) ([]byte, bool) {
	b = append(b, '[')
	for i, r := range rs {
		if r.Err != "" {
			return b, false
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"version":`...)
		b = strconv.AppendUint(b, r.Version, 10)
		b = append(b, '}')
	}
	return append(b, ']'), true
}

// appendImageFast appends the image of a board as json.Marshal writes it
// (keys sorted), or reports false if a key or value needs escaping or is
// not ASCII.
func appendImageFast(b []byte, version uint64, cells map[string]string) ([]byte, bool) {
	keys := make([]string, 0, len(cells))
	for k, v := range cells {
		if !plain(k) || !plain(v) {
			return b, false
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, `{"version":`...)
	b = strconv.AppendUint(b, version, 10)
	b = append(b, `,"cells":{`...)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, `":"`...)
		b = append(b, cells[k]...)
		b = append(b, '"')
	}
	return append(b, "}}"...), true
}

// imageSize is the size of the image appendImageFast writes, for cells
// that need no escaping.
func imageSize(cells map[string]string) int {
	n := len(`{"version":18446744073709551615,"cells":{}}`)
	for k, v := range cells {
		n += len(k) + len(v) + len(`"":"",`)
	}
	return n
}
