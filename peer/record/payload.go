package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/tabraft/tabraft/raft"
)

const (
	// EntriesPrefixMax bounds the encoded size of an entries payload's
	// first index and count.
	EntriesPrefixMax = 2 * binary.MaxVarintLen64
	// EntryOverheadMax bounds the encoded size of an entry without its
	// data: term, type and data length.
	EntryOverheadMax = binary.MaxVarintLen64 + 1 + binary.MaxVarintLen64
)

// AppendEntries appends the entries payload of ents, which must be
// consecutive and at least one.
func AppendEntries(buf []byte, ents []raft.Entry) []byte {
	buf = binary.AppendUvarint(buf, ents[0].Index)
	buf = binary.AppendUvarint(buf, uint64(len(ents)))
	for i := range ents {
		e := &ents[i]
		buf = binary.AppendUvarint(buf, e.Term)
		buf = append(buf, byte(e.Type))
		buf = binary.AppendUvarint(buf, uint64(len(e.Data)))
		buf = append(buf, e.Data...)
	}
	return buf
}

// SplitEntries cuts ents into runs whose entries payloads take at most
// about maxBytes each (a run holds at least one entry, however large).
func SplitEntries(ents []raft.Entry, maxBytes int) [][]raft.Entry {
	var runs [][]raft.Entry
	for len(ents) > 0 {
		n, size := 0, EntriesPrefixMax
		for n < len(ents) && (n == 0 || size+EntryOverheadMax+len(ents[n].Data) <= maxBytes) {
			size += EntryOverheadMax + len(ents[n].Data)
			n++
		}
		runs = append(runs, ents[:n:n])
		ents = ents[n:]
	}
	return runs
}

// DecodeEntries decodes an entries payload. The entries' data is copied
// into one new allocation.
func DecodeEntries(p []byte) ([]raft.Entry, error) {
	d := NewDecoder(p)
	first, n := d.Uvarint(), d.Uvarint()
	if d.err == nil && (n == 0 || n > uint64(len(d.b))/3) {
		// Every entry takes at least 3 bytes: term, type, length.
		return nil, fmt.Errorf("entry count %d does not fit in %d bytes", n, len(d.b))
	}
	if d.err == nil && (first == 0 || first > math.MaxUint64-n+1) {
		return nil, fmt.Errorf("entries %d+%d are out of range", first, n)
	}
	ents := make([]raft.Entry, 0, n)
	total := 0
	for i := uint64(0); i < n && d.err == nil; i++ {
		e := raft.Entry{Index: first + i, Term: d.Uvarint(), Type: raft.EntryType(d.Byte())}
		e.Data = d.bytes()
		total += len(e.Data)
		ents = append(ents, e)
	}
	if err := d.Finish(); err != nil {
		return nil, err
	}
	slab := make([]byte, 0, total)
	for i := range ents {
		if e := &ents[i]; e.Data != nil {
			k := len(slab)
			slab = append(slab, e.Data...)
			e.Data = slab[k:len(slab):len(slab)]
		}
	}
	return ents, nil
}

// AppendHardState appends the hard state payload of hs.
func AppendHardState(buf []byte, hs raft.HardState) []byte {
	buf = binary.AppendUvarint(buf, hs.Term)
	buf = binary.AppendUvarint(buf, uint64(hs.Vote))
	buf = binary.AppendUvarint(buf, hs.Commit)
	if hs.Cluster != 0 {
		buf = binary.AppendUvarint(buf, hs.Cluster)
	}
	return buf
}

// DecodeHardState decodes a hard state payload.
func DecodeHardState(p []byte) (raft.HardState, error) {
	d := NewDecoder(p)
	hs := d.HardState()
	if err := d.Finish(); err != nil {
		return raft.HardState{}, err
	}
	return hs, nil
}

// AppendSnapshotPrefix appends what precedes the data in the snapshot
// payload of a snapshot with metadata m and dataLen bytes of data (the
// data follows it).
func AppendSnapshotPrefix(buf []byte, m raft.SnapshotMeta, dataLen int) []byte {
	buf = binary.AppendUvarint(buf, m.Index)
	buf = binary.AppendUvarint(buf, m.Term)
	cs := &m.ConfState
	for _, ids := range [...][]raft.NodeID{cs.Voters, cs.Learners, cs.VotersOutgoing, cs.LearnersNext} {
		buf = binary.AppendUvarint(buf, uint64(len(ids)))
		for _, id := range ids {
			buf = binary.AppendUvarint(buf, uint64(id))
		}
	}
	return binary.AppendUvarint(buf, uint64(dataLen))
}

// AppendSnapshot appends the snapshot payload of s.
func AppendSnapshot(buf []byte, s raft.Snapshot) []byte {
	return append(AppendSnapshotPrefix(buf, s.Meta, len(s.Data)), s.Data...)
}

// DecodeSnapshot decodes a snapshot payload (the data is copied).
func DecodeSnapshot(p []byte) (raft.Snapshot, error) {
	d := NewDecoder(p)
	var s raft.Snapshot
	s.Meta.Index, s.Meta.Term = d.Uvarint(), d.Uvarint()
	cs := &s.Meta.ConfState
	for _, ids := range [...]*[]raft.NodeID{&cs.Voters, &cs.Learners, &cs.VotersOutgoing, &cs.LearnersNext} {
		*ids = d.ids()
	}
	if data := d.bytes(); data != nil {
		s.Data = append([]byte(nil), data...)
	}
	if err := d.Finish(); err != nil {
		return raft.Snapshot{}, err
	}
	if s.Meta.Index == 0 {
		return raft.Snapshot{}, errors.New("snapshot at index 0")
	}
	return s, nil
}

// Decoder reads a payload. The first error sticks: later reads return
// zero values, and Finish reports it.
type Decoder struct {
	b   []byte
	err error
}

// NewDecoder returns a Decoder reading p.
func NewDecoder(p []byte) *Decoder { return &Decoder{b: p} }

var errShort = errors.New("payload is cut short")

// Uvarint reads an unsigned varint.
func (d *Decoder) Uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShort
		if n < 0 {
			d.err = errors.New("varint overflows 64 bits")
		}
		return 0
	}
	d.b = d.b[n:]
	return v
}

// Byte reads one byte.
func (d *Decoder) Byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = errShort
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// HardState reads a hard state: three varints, then the cluster id if any
// bytes are left (a hard state is always last in its payload; one written
// before cluster ids existed has none and reads as cluster 0). An explicit
// zero cluster id is refused, so that every hard state has one encoding.
func (d *Decoder) HardState() raft.HardState {
	hs := raft.HardState{Term: d.Uvarint(), Vote: raft.NodeID(d.Uvarint()), Commit: d.Uvarint()}
	if d.err == nil && len(d.b) > 0 {
		if hs.Cluster = d.Uvarint(); d.err == nil && hs.Cluster == 0 {
			d.err = errors.New("explicit zero cluster id")
		}
	}
	return hs
}

// bytes reads a length-prefixed byte string (nil when empty), aliasing
// the payload.
func (d *Decoder) bytes() []byte {
	n := d.Uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errShort
		return nil
	}
	if n == 0 {
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *Decoder) ids() []raft.NodeID {
	n := d.Uvarint()
	if d.err != nil || n == 0 {
		return nil
	}
	if n > uint64(len(d.b)) { // every id takes at least a byte
		d.err = errShort
		return nil
	}
	ids := make([]raft.NodeID, n)
	for i := range ids {
		ids[i] = raft.NodeID(d.Uvarint())
	}
	if d.err != nil {
		return nil
	}
	return ids
}

// Finish reports the first error, or bytes left unread.
func (d *Decoder) Finish() error {
	if d.err != nil {
		return d.err
	}
	if len(d.b) > 0 {
		return fmt.Errorf("%d unexpected bytes at the end of the payload", len(d.b))
	}
	return nil
}
