//go:build js && wasm

package idbstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/tabraft/tabraft/raft"
)

// Record kinds: the first byte of every stored value.
const (
	kindRun  byte = 1
	kindHard byte = 2
	kindSnap byte = 3
)

func kindName(k byte) string {
	switch k {
	case kindRun:
		return "entries"
	case kindHard:
		return "hard state"
	case kindSnap:
		return "snapshot"
	}
	return fmt.Sprintf("kind %d", k)
}

// castagnoli is read-only after initialization.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crcLen is the size of the checksum that ends every record.
const crcLen = 4

// begin starts a record of kind k at the end of buf.
func begin(buf []byte, k byte) []byte { return append(buf[:0], k) }

// seal appends the checksum of everything in buf.
func seal(buf []byte) []byte {
	return binary.LittleEndian.AppendUint32(buf, crc32.Checksum(buf, castagnoli))
}

// unseal checks that b is an intact record of kind k and returns its payload.
func unseal(b []byte, k byte) ([]byte, error) {
	if len(b) < 1+crcLen {
		return nil, fmt.Errorf("%d bytes is too short for a record", len(b))
	}
	body, sum := b[:len(b)-crcLen], binary.LittleEndian.Uint32(b[len(b)-crcLen:])
	if got := crc32.Checksum(body, castagnoli); got != sum {
		return nil, fmt.Errorf("checksum %08x, the record says %08x", got, sum)
	}
	if body[0] != k {
		return nil, fmt.Errorf("%s record where the %s record belongs", kindName(body[0]), kindName(k))
	}
	return body[1:], nil
}

// entryOverhead bounds the encoded size of an entry without its data.
const entryOverhead = binary.MaxVarintLen64 + 1 + binary.MaxVarintLen64

// encodeRun encodes consecutive entries as one record: the first index,
// the count, then per entry its term, type and data. Indexes after the
// first are implied.
func encodeRun(buf []byte, ents []raft.Entry) []byte {
	buf = begin(buf, kindRun)
	buf = binary.AppendUvarint(buf, ents[0].Index)
	buf = binary.AppendUvarint(buf, uint64(len(ents)))
	for _, e := range ents {
		buf = binary.AppendUvarint(buf, e.Term)
		buf = append(buf, byte(e.Type))
		buf = binary.AppendUvarint(buf, uint64(len(e.Data)))
		buf = append(buf, e.Data...)
	}
	return seal(buf)
}

// splitRuns cuts ents into runs of about maxBytes of encoded size (at
// least one entry each).
func splitRuns(ents []raft.Entry, maxBytes int) [][]raft.Entry {
	var runs [][]raft.Entry
	for len(ents) > 0 {
		n, size := 0, 0
		for n < len(ents) && (n == 0 || size+entryOverhead+len(ents[n].Data) <= maxBytes) {
			size += entryOverhead + len(ents[n].Data)
			n++
		}
		runs = append(runs, ents[:n:n])
		ents = ents[n:]
	}
	return runs
}

func decodeRun(b []byte) ([]raft.Entry, error) {
	p, err := unseal(b, kindRun)
	if err != nil {
		return nil, err
	}
	d := decoder{b: p}
	first, n := d.uvarint(), d.uvarint()
	if d.err == nil && (n == 0 || n > uint64(len(d.b))/3) {
		// Every entry takes at least 3 bytes: term, type, length.
		return nil, fmt.Errorf("entry count %d does not fit in %d bytes", n, len(d.b))
	}
	if d.err == nil && (first == 0 || first > maxIndex-n+1) {
		return nil, fmt.Errorf("entries %d+%d are out of range", first, n)
	}
	ents := make([]raft.Entry, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		e := raft.Entry{Index: first + i, Term: d.uvarint(), Type: raft.EntryType(d.byte())}
		if data := d.bytes(); len(data) > 0 {
			e.Data = data
		}
		ents = append(ents, e)
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	return ents, nil
}

func encodeHard(buf []byte, hs raft.HardState) []byte {
	buf = begin(buf, kindHard)
	buf = binary.AppendUvarint(buf, hs.Term)
	buf = binary.AppendUvarint(buf, uint64(hs.Vote))
	buf = binary.AppendUvarint(buf, hs.Commit)
	return seal(buf)
}

func decodeHard(b []byte) (raft.HardState, error) {
	p, err := unseal(b, kindHard)
	if err != nil {
		return raft.HardState{}, err
	}
	d := decoder{b: p}
	hs := raft.HardState{Term: d.uvarint(), Vote: raft.NodeID(d.uvarint()), Commit: d.uvarint()}
	return hs, d.finish()
}

// encodeSnap encodes a snapshot: index, term, the four node lists of its
// configuration (count, then ids), and the data.
func encodeSnap(buf []byte, s raft.Snapshot) []byte {
	buf = begin(buf, kindSnap)
	buf = binary.AppendUvarint(buf, s.Meta.Index)
	buf = binary.AppendUvarint(buf, s.Meta.Term)
	cs := s.Meta.ConfState
	for _, ids := range [...][]raft.NodeID{cs.Voters, cs.Learners, cs.VotersOutgoing, cs.LearnersNext} {
		buf = binary.AppendUvarint(buf, uint64(len(ids)))
		for _, id := range ids {
			buf = binary.AppendUvarint(buf, uint64(id))
		}
	}
	buf = binary.AppendUvarint(buf, uint64(len(s.Data)))
	buf = append(buf, s.Data...)
	return seal(buf)
}

func decodeSnap(b []byte) (raft.Snapshot, error) {
	var s raft.Snapshot
	p, err := unseal(b, kindSnap)
	if err != nil {
		return s, err
	}
	d := decoder{b: p}
	s.Meta.Index, s.Meta.Term = d.uvarint(), d.uvarint()
	cs := &s.Meta.ConfState
	for _, ids := range [...]*[]raft.NodeID{&cs.Voters, &cs.Learners, &cs.VotersOutgoing, &cs.LearnersNext} {
		*ids = d.ids()
	}
	s.Data = d.bytes()
	if err := d.finish(); err != nil {
		return raft.Snapshot{}, err
	}
	if s.Meta.Index == 0 {
		return raft.Snapshot{}, errors.New("snapshot at index 0")
	}
	return s, nil
}

// decoder reads a payload; the first error sticks and later reads return
// zero values.
type decoder struct {
	b   []byte
	err error
}

var errShort = errors.New("record is cut short")

func (d *decoder) uvarint() uint64 {
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

func (d *decoder) byte() byte {
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

// bytes reads a length-prefixed byte string (nil when empty). It aliases
// the payload, which the caller owns.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
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

func (d *decoder) ids() []raft.NodeID {
	n := d.uvarint()
	if d.err != nil || n == 0 {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errShort
		return nil
	}
	ids := make([]raft.NodeID, n)
	for i := range ids {
		ids[i] = raft.NodeID(d.uvarint())
	}
	if d.err != nil {
		return nil
	}
	return ids
}

func (d *decoder) finish() error {
	if d.err != nil {
		return d.err
	}
	if len(d.b) > 0 {
		return fmt.Errorf("%d unexpected bytes at the end of the record", len(d.b))
	}
	return nil
}
