package filelog

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tabraft/tabraft/raft"
)

const formatVersion = 1

// segmentHeader is the payload of the record that begins every segment:
// the state of the log when the segment was created.
type segmentHeader struct {
	seq       uint64
	snapIndex uint64
	snapTerm  uint64
	lastIndex uint64
	hard      raft.HardState
}

// snapshotMark is the payload of a snapshot marker: from here on the log
// begins after index; keep tells whether the entries after index survive.
type snapshotMark struct {
	index, term uint64
	keep        bool
}

// op is one decoded record (or, when writing, one logical piece of a batch).
type op struct {
	typ  recordType
	seg  segmentHeader
	ents []raft.Entry
	hard raft.HardState
	mark snapshotMark
}

// entryOverhead is the encoded size of an entry without its data.
const entryOverhead = 8 + 8 + 1 + 4

// appendBatch encodes ops as one batch of records at the end of buf.
func appendBatch(buf []byte, ops []op) []byte {
	last := -1
	for i := range ops {
		o := &ops[i]
		if o.typ == recEntries {
			ents := o.ents
			for len(ents) > 0 {
				var n int
				buf, last, n = appendEntriesRecord(buf, ents)
				ents = ents[n:]
			}
			continue
		}
		var start int
		buf, start = beginRecord(buf)
		switch o.typ {
		case recSegmentHeader:
			buf = appendSegmentHeader(buf, o.seg)
		case recHardState:
			buf = appendHardState(buf, o.hard)
		case recSnapshotMark:
			buf = binary.LittleEndian.AppendUint64(buf, o.mark.index)
			buf = binary.LittleEndian.AppendUint64(buf, o.mark.term)
			buf = append(buf, boolByte(o.mark.keep))
		}
		buf = finishRecord(buf, start, o.typ, 0)
		last = start
	}
	if last >= 0 {
		setBatchEnd(buf, last)
	}
	return buf
}

// appendEntriesRecord encodes a prefix of ents (at least one entry, up to
// about entriesChunk bytes) as one record and says how many it took.
func appendEntriesRecord(buf []byte, ents []raft.Entry) ([]byte, int, int) {
	buf, start := beginRecord(buf)
	buf = binary.LittleEndian.AppendUint32(buf, 0) // count, filled below
	size, n := 4, 0
	for _, e := range ents {
		if n > 0 && size+entryOverhead+len(e.Data) > entriesChunk {
			break
		}
		buf = binary.LittleEndian.AppendUint64(buf, e.Index)
		buf = binary.LittleEndian.AppendUint64(buf, e.Term)
		buf = append(buf, byte(e.Type))
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(e.Data)))
		buf = append(buf, e.Data...)
		size += entryOverhead + len(e.Data)
		n++
	}
	binary.LittleEndian.PutUint32(buf[start+recordHeaderSize:], uint32(n))
	return finishRecord(buf, start, recEntries, 0), start, n
}

func appendSegmentHeader(buf []byte, h segmentHeader) []byte {
	buf = binary.LittleEndian.AppendUint32(buf, formatVersion)
	buf = binary.LittleEndian.AppendUint32(buf, 0)
	for _, v := range [...]uint64{h.seq, h.snapIndex, h.snapTerm, h.lastIndex} {
		buf = binary.LittleEndian.AppendUint64(buf, v)
	}
	return appendHardState(buf, h.hard)
}

func appendHardState(buf []byte, hs raft.HardState) []byte {
	buf = binary.LittleEndian.AppendUint64(buf, hs.Term)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(hs.Vote))
	return binary.LittleEndian.AppendUint64(buf, hs.Commit)
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// decoder reads little-endian values from a payload; the first short read
// makes it fail, and every later read returns zeros.
type decoder struct {
	b   []byte
	err error
}

var errShort = errors.New("payload is cut short")

func (d *decoder) take(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if uint64(len(d.b)) < n {
		d.err = errShort
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u8() uint8 {
	if b := d.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if b := d.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if b := d.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// finish reports a short payload or trailing bytes.
func (d *decoder) finish() error {
	if d.err != nil {
		return d.err
	}
	if len(d.b) > 0 {
		return fmt.Errorf("%d unexpected bytes at the end of the payload", len(d.b))
	}
	return nil
}

func (d *decoder) hardState() raft.HardState {
	return raft.HardState{Term: d.u64(), Vote: raft.NodeID(d.u64()), Commit: d.u64()}
}

// decodeOp decodes the payload of a log record. Data is copied out of the
// payload, so the file buffer is not kept alive.
func decodeOp(rec *record) (op, error) {
	d := decoder{b: rec.payload}
	o := op{typ: rec.typ}
	switch rec.typ {
	case recSegmentHeader:
		if v := d.u32(); d.err == nil && v != formatVersion {
			return o, fmt.Errorf("unsupported format version %d", v)
		}
		d.u32()
		o.seg = segmentHeader{seq: d.u64(), snapIndex: d.u64(), snapTerm: d.u64(), lastIndex: d.u64(), hard: d.hardState()}
	case recEntries:
		n := d.u32()
		if uint64(n)*entryOverhead > uint64(len(d.b)) {
			return o, fmt.Errorf("entry count %d does not fit in %d bytes", n, len(d.b))
		}
		o.ents = make([]raft.Entry, 0, n)
		for range n {
			e := raft.Entry{Index: d.u64(), Term: d.u64(), Type: raft.EntryType(d.u8())}
			if data := d.take(uint64(d.u32())); len(data) > 0 {
				e.Data = append([]byte(nil), data...)
			}
			if d.err != nil {
				break
			}
			if k := len(o.ents); k > 0 && e.Index != o.ents[k-1].Index+1 {
				return o, fmt.Errorf("entry %d follows entry %d", e.Index, o.ents[k-1].Index)
			}
			o.ents = append(o.ents, e)
		}
	case recHardState:
		o.hard = d.hardState()
	case recSnapshotMark:
		o.mark = snapshotMark{index: d.u64(), term: d.u64()}
		switch k := d.u8(); k {
		case 0, 1:
			o.mark.keep = k == 1
		default:
			return o, fmt.Errorf("bad keep flag %d in snapshot marker", k)
		}
	default:
		return o, fmt.Errorf("%v record in a log segment", rec.typ)
	}
	if err := d.finish(); err != nil {
		return o, fmt.Errorf("%v record: %w", rec.typ, err)
	}
	return o, nil
}

// appendIDs appends a length-prefixed list of node ids.
func appendIDs(buf []byte, ids []raft.NodeID) []byte {
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(ids)))
	for _, id := range ids {
		buf = binary.LittleEndian.AppendUint64(buf, uint64(id))
	}
	return buf
}

func (d *decoder) ids() []raft.NodeID {
	n := d.u32()
	if d.err != nil || n == 0 {
		return nil
	}
	if uint64(n)*8 > uint64(len(d.b)) {
		d.err = errShort
		return nil
	}
	ids := make([]raft.NodeID, n)
	for i := range ids {
		ids[i] = raft.NodeID(d.u64())
	}
	return ids
}

// snapshotPrefix encodes everything of a snapshot file's payload that
// precedes the data.
func snapshotPrefix(m raft.SnapshotMeta, dataLen int) []byte {
	buf := binary.LittleEndian.AppendUint64(nil, m.Index)
	buf = binary.LittleEndian.AppendUint64(buf, m.Term)
	cs := m.ConfState
	for _, ids := range [...][]raft.NodeID{cs.Voters, cs.Learners, cs.VotersOutgoing, cs.LearnersNext} {
		buf = appendIDs(buf, ids)
	}
	return binary.LittleEndian.AppendUint64(buf, uint64(dataLen))
}

// decodeSnapshot decodes a snapshot file's payload (Data is copied).
func decodeSnapshot(payload []byte) (raft.Snapshot, error) {
	d := decoder{b: payload}
	var s raft.Snapshot
	s.Meta.Index, s.Meta.Term = d.u64(), d.u64()
	s.Meta.ConfState = raft.ConfState{Voters: d.ids(), Learners: d.ids(), VotersOutgoing: d.ids(), LearnersNext: d.ids()}
	if data := d.take(d.u64()); len(data) > 0 {
		s.Data = append([]byte(nil), data...)
	}
	if err := d.finish(); err != nil {
		return raft.Snapshot{}, fmt.Errorf("snapshot file record: %w", err)
	}
	return s, nil
}
