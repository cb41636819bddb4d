package sim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// OpKind is a client operation on the key-value state machine. A later
// ReadIndex read (served without a log entry) becomes a new kind here.
type OpKind uint8

const (
	// OpGet reads a key (through the log).
	OpGet OpKind = iota + 1
	// OpPut sets a key.
	OpPut
	// OpAppend appends to a key's value.
	OpAppend
	// OpRead reads a key without a log entry: the member asks the core for
	// a read index (ReadIndex) and answers once it has applied that far.
	OpRead
)

func (k OpKind) String() string {
	switch k {
	case OpGet:
		return "get"
	case OpPut:
		return "put"
	case OpAppend:
		return "append"
	case OpRead:
		return "read"
	}
	return fmt.Sprintf("OpKind(%d)", uint8(k))
}

// Command is what a client proposes. Client and Seq identify it uniquely:
// a retried command keeps its Seq, and the state machine executes it once.
type Command struct {
	Client int
	Seq    uint64
	Op     OpKind
	Key    string
	Value  string
}

func (c Command) String() string {
	switch c.Op {
	case OpGet, OpRead:
		return c.Op.String() + " " + c.Key
	case OpPut:
		return "put " + c.Key + "=" + c.Value
	}
	return fmt.Sprintf("%s %s+=%s", c.Op, c.Key, c.Value)
}

// Encode returns the command as log entry data.
func (c Command) Encode() []byte {
	b := make([]byte, 0, 16+len(c.Key)+len(c.Value))
	b = append(b, byte(c.Op))
	b = binary.AppendUvarint(b, uint64(c.Client))
	b = binary.AppendUvarint(b, c.Seq)
	b = binary.AppendUvarint(b, uint64(len(c.Key)))
	b = append(b, c.Key...)
	return append(b, c.Value...)
}

var errBadCommand = errors.New("sim: malformed command")

// DecodeCommand parses what Encode produced.
func DecodeCommand(b []byte) (Command, error) {
	var c Command
	if len(b) == 0 {
		return c, errBadCommand
	}
	c.Op = OpKind(b[0])
	b = b[1:]
	client, n := binary.Uvarint(b)
	if n <= 0 {
		return c, errBadCommand
	}
	b = b[n:]
	if c.Seq, n = binary.Uvarint(b); n <= 0 {
		return c, errBadCommand
	}
	b = b[n:]
	klen, n := binary.Uvarint(b)
	if n <= 0 || klen > uint64(len(b)-n) {
		return c, errBadCommand
	}
	b = b[n:]
	c.Client = int(client)
	c.Key, c.Value = string(b[:klen]), string(b[klen:])
	if c.Op < OpGet || c.Op > OpAppend {
		return c, errBadCommand
	}
	return c, nil
}

// kvStore is the replicated state machine: a map, and for each client the
// last command executed and its answer (the session that makes retries
// safe). It is rebuilt from the log after a restart.
type kvStore struct {
	data     map[string]string
	sessions map[int]session
}

type session struct {
	seq    uint64
	result string
}

func newKVStore() *kvStore {
	return &kvStore{data: map[string]string{}, sessions: map[int]session{}}
}

// encode returns the state machine's image (for a snapshot): the map and
// the sessions, in a deterministic order.
func (s *kvStore) encode() []byte {
	keys := slices.Sorted(maps.Keys(s.data))
	clients := slices.Sorted(maps.Keys(s.sessions))
	b := binary.AppendUvarint(nil, uint64(len(keys)))
	for _, k := range keys {
		b = appendString(b, k)
		b = appendString(b, s.data[k])
	}
	b = binary.AppendUvarint(b, uint64(len(clients)))
	for _, c := range clients {
		b = binary.AppendUvarint(b, uint64(c))
		b = binary.AppendUvarint(b, s.sessions[c].seq)
		b = appendString(b, s.sessions[c].result)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// decodeKV restores a state machine from encode's image.
func decodeKV(b []byte) (*kvStore, error) {
	s := newKVStore()
	r := reader{b: b}
	for n := r.uvarint(); n > 0 && r.err == nil; n-- {
		k := r.string()
		s.data[k] = r.string()
	}
	for n := r.uvarint(); n > 0 && r.err == nil; n-- {
		c := int(r.uvarint())
		seq := r.uvarint()
		s.sessions[c] = session{seq: seq, result: r.string()}
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = errBadCommand
	}
	return s, r.err
}

// reader decodes uvarints and strings, remembering the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errBadCommand
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) string() string {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.err = errBadCommand
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// apply executes c unless the client's session shows it ran already. It
// returns the answer and whether there is one (a command older than the
// client's last has been superseded and gets none), and whether c was
// executed now rather than answered from the session.
func (s *kvStore) apply(c Command) (result string, ok, fresh bool) {
	last, seen := s.sessions[c.Client]
	switch {
	case seen && c.Seq == last.seq:
		return last.result, true, false
	case seen && c.Seq < last.seq:
		return "", false, false
	}
	switch c.Op {
	case OpGet:
		result = s.data[c.Key]
	case OpPut:
		s.data[c.Key] = c.Value
	case OpAppend:
		s.data[c.Key] += c.Value
	}
	s.sessions[c.Client] = session{seq: c.Seq, result: result}
	return result, true, true
}
