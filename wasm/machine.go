package wasm

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"strconv"
	"strings"
	"sync"

	"github.com/tabraft/tabraft/peer/board"
	"github.com/tabraft/tabraft/raft"
)

// machine is the member's state machine (peer.StateMachine): the board,
// behind a mutex so that cells() and status() read it from other goroutines
// while the node applies, with a digest kept up to date at each operation,
// and the source of the applied and restored events.
//
// The node hands the state machine commands only, without their index; the
// observed storage (below) sees every Ready before the node applies it and
// queues its committed entries here, and Apply matches each command with
// its entry. Entries that are not commands (a new leader's empty entry, a
// configuration change) get an applied event with a null op as soon as
// every entry before them is applied.
type machine struct {
	bus *bus

	mu  sync.Mutex
	b   *board.Board
	sum uint64 // sum of the cells' digests (see cellDigest)

	// Used from the node's goroutine only (and by the member between runs).
	pending   []raft.Entry // committed entries handed out, not yet applied
	snapIndex uint64       // the index of the snapshot Restore installs next
}

func newMachine(b *bus) *machine { return &machine{bus: b, b: board.New()} }

// reset gives the machine an empty board before a (re)start; the node then
// restores the snapshot at snapIndex, if any, and applies the log.
func (m *machine) reset(snapIndex uint64) {
	m.mu.Lock()
	m.b, m.sum = board.New(), 0
	m.mu.Unlock()
	m.pending = m.pending[:0]
	m.snapIndex = snapIndex
}

// Apply implements peer.StateMachine.
func (m *machine) Apply(cmd []byte) any {
	e := m.match(cmd)
	op, derr := board.Decode(cmd) // once: the board applies what was decoded
	m.mu.Lock()
	old, had := m.b.Get(op.Key)
	var res board.Result
	if derr != nil {
		res, _ = m.b.Apply(cmd).(board.Result) // answers with the board's error
	} else {
		res = m.b.ApplyOp(op)
	}
	if res.Err == "" {
		switch op.Kind {
		case "set":
			if had {
				m.sum -= cellDigest(op.Key, old)
			}
			m.sum += cellDigest(op.Key, op.Value)
		case "del":
			if had {
				m.sum -= cellDigest(op.Key, old)
			}
		case "clear":
			m.sum = 0
		}
	}
	sum, version := m.sum, m.b.Version()
	m.mu.Unlock()
	if m.bus.wants(EventApplied) {
		m.emitApplied(e, op, res, sum, version)
	}
	m.drain()
	return res
}

// emitApplied emits the applied event of entry e (apart from Apply, so
// that what the event holds is copied to the heap only when someone
// listens).
func (m *machine) emitApplied(e raft.Entry, op board.Op, res board.Result, sum, version uint64) {
	m.bus.emit(EventApplied, func() any {
		var o *board.Op
		if res.Err == "" {
			o = &op
		}
		return appliedEvent{Index: e.Index, Term: e.Term, Op: toJSOp(o), Result: &res, Hash: digest(sum, version)}
	})
}

// match takes the entry cmd came from off the queue; entries before it
// the node did not apply (undecodable commands) get their applied events.
func (m *machine) match(cmd []byte) raft.Entry {
	for len(m.pending) > 0 {
		e := m.pending[0]
		m.pending = m.pending[1:]
		if sameTail(e.Data, cmd) {
			return e
		}
		m.emitSkipped(e)
	}
	return raft.Entry{} // not seen in a Ready: cannot happen
}

// sameTail reports whether cmd is the end of data: the node passes the
// command as a slice of its entry, after the command header.
func sameTail(data, cmd []byte) bool {
	if len(cmd) > len(data) {
		return false
	}
	if len(cmd) > 0 && &data[len(data)-1] == &cmd[len(cmd)-1] {
		return true
	}
	return bytes.HasSuffix(data, cmd)
}

// isCommand reports whether the node hands e to Apply.
func isCommand(e *raft.Entry) bool { return e.Type == raft.EntryNormal && len(e.Data) > 0 }

// committed queues the committed entries of a Ready (called before the node
// applies them): what the queue still holds was not handed to Apply.
func (m *machine) committed(ents []raft.Entry) {
	for _, e := range m.pending {
		m.emitSkipped(e)
	}
	m.pending = append(m.pending[:0], ents...)
	m.drain()
}

// drain emits the applied events of the entries at the head of the queue
// that are not commands: everything before them is applied, and they do
// not change the board.
func (m *machine) drain() {
	for len(m.pending) > 0 && !isCommand(&m.pending[0]) {
		m.emitSkipped(m.pending[0])
		m.pending = m.pending[1:]
	}
	if len(m.pending) == 0 {
		m.pending = m.pending[:0:0] // let the entries' data go
	}
}

func (m *machine) emitSkipped(e raft.Entry) {
	m.bus.emit(EventApplied, func() any {
		return appliedEvent{Index: e.Index, Term: e.Term, Hash: m.Hash()}
	})
}

// Snapshot implements peer.StateMachine.
func (m *machine) Snapshot() ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.b.Snapshot()
}

// Restore implements peer.StateMachine.
func (m *machine) Restore(image []byte) error {
	b := board.New()
	if err := b.Restore(image); err != nil {
		return err
	}
	var sum uint64
	for k, v := range b.Cells() {
		sum += cellDigest(k, v)
	}
	m.mu.Lock()
	m.b, m.sum = b, sum
	hash := m.hashLocked()
	m.mu.Unlock()
	idx := m.snapIndex
	k := 0
	for k < len(m.pending) && m.pending[k].Index <= idx {
		k++
	}
	m.pending = m.pending[k:]
	m.bus.emit(EventRestored, func() any { return restoredEvent{Index: idx, Hash: hash} })
	m.drain()
	return nil
}

// Cells returns a copy of the applied board.
func (m *machine) Cells() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.b.Cells()
}

// Get returns a cell ("" when unset).
func (m *machine) Get(key string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, _ := m.b.Get(key)
	return v
}

// CellsJSON returns the board as a JSON object.
func (m *machine) CellsJSON() []byte {
	m.mu.Lock()
	cells := m.b.Cells() // a copy
	m.mu.Unlock()
	b, err := json.Marshal(cells)
	if err != nil {
		return []byte("{}")
	}
	return b
}

// Hash returns the board's digest; Version its version.
func (m *machine) Hash() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hashLocked()
}

// Version returns the number of operations applied.
func (m *machine) Version() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.b.Version()
}

// hashLocked is the digest of the board: of the sum of its cells' digests
// and its version. Equal boards have equal digests, and each operation
// updates it in constant time (board.Hash sorts every key).
func (m *machine) hashLocked() string {
	return digest(m.sum, m.b.Version())
}

// digest is the board's digest from the sum of its cells' digests and its
// version.
func digest(sum, version uint64) string {
	var buf [16]byte
	binary.LittleEndian.PutUint64(buf[:8], sum)
	binary.LittleEndian.PutUint64(buf[8:], version)
	var out [16]byte
	hex := strconv.AppendUint(out[:0], fnvAdd(fnvOffset, buf[:]...), 16)
	return strings.Repeat("0", 16-len(hex)) + string(hex) // as %016x
}

// cellDigest is the digest of one cell; a board's is the sum of its cells'.
// It is FNV-1a (64 bits) of len(key) ":" key "=" val.
func cellDigest(key, val string) uint64 {
	var n [20]byte
	h := fnvAdd(fnvOffset, strconv.AppendInt(n[:0], int64(len(key)), 10)...)
	h = fnvAdd(h, ':')
	h = fnvString(h, key)
	h = fnvAdd(h, '=')
	return fnvString(h, val)
}

// FNV-1a, 64 bits (hash/fnv's New64a without its allocation).
const (
	fnvOffset uint64 = 14695981039346656037
	fnvPrime  uint64 = 1099511628211
)

func fnvAdd(h uint64, b ...byte) uint64 {
	for _, c := range b {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return h
}

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}
