package filelog

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tabraft/tabraft/peer/record"
	"github.com/tabraft/tabraft/raft"
)

// formatVersion is the version in every segment header. Version 1 (the
// first builds) encoded payloads with fixed-width integers; version 2
// uses package record's payloads, shared with wasm/idbstore.
const formatVersion = 2

// errVersion is what decoding a segment header of another format version
// fails with; Open turns it into an ErrUnsupportedFormat.
type errVersion uint64

func (v errVersion) Error() string { return fmt.Sprintf("format version %d", uint64(v)) }

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
	typ  record.Type
	seg  segmentHeader
	ents []raft.Entry
	hard raft.HardState
	mark snapshotMark
}

// appendBatch encodes ops as one batch of records at the end of buf.
func appendBatch(buf []byte, ops []op) []byte {
	last := -1
	for i := range ops {
		o := &ops[i]
		if o.typ == record.TypeEntries {
			for _, run := range record.SplitEntries(o.ents, entriesChunk) {
				buf, last = record.Begin(buf)
				buf = record.Finish(record.AppendEntries(buf, run), last, record.TypeEntries, 0)
			}
			continue
		}
		var start int
		buf, start = record.Begin(buf)
		switch o.typ {
		case record.TypeSegmentHeader:
			buf = appendSegmentHeader(buf, o.seg)
		case record.TypeHardState:
			buf = record.AppendHardState(buf, o.hard)
		case record.TypeSnapshotMark:
			buf = binary.AppendUvarint(buf, o.mark.index)
			buf = binary.AppendUvarint(buf, o.mark.term)
			buf = append(buf, boolByte(o.mark.keep))
		}
		buf = record.Finish(buf, start, o.typ, 0)
		last = start
	}
	if last >= 0 {
		record.SetBatchEnd(buf, last)
	}
	return buf
}

func appendSegmentHeader(buf []byte, h segmentHeader) []byte {
	for _, v := range [...]uint64{formatVersion, h.seq, h.snapIndex, h.snapTerm, h.lastIndex} {
		buf = binary.AppendUvarint(buf, v)
	}
	return record.AppendHardState(buf, h.hard)
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// decodeOp decodes the payload of a log record. Data is copied out of the
// payload, so the file buffer is not kept alive.
func decodeOp(rec *fileRecord) (op, error) {
	o := op{typ: rec.Type}
	var err error
	switch rec.Type {
	case record.TypeSegmentHeader:
		d := record.NewDecoder(rec.Payload)
		// The version comes first in every format: version 1 wrote it as
		// a little-endian uint32, whose first byte reads as the varint 1.
		if v := d.Uvarint(); v != formatVersion {
			return o, errVersion(v)
		}
		o.seg = segmentHeader{seq: d.Uvarint(), snapIndex: d.Uvarint(), snapTerm: d.Uvarint(), lastIndex: d.Uvarint(), hard: d.HardState()}
		err = d.Finish()
	case record.TypeEntries:
		o.ents, err = record.DecodeEntries(rec.Payload)
	case record.TypeHardState:
		o.hard, err = record.DecodeHardState(rec.Payload)
	case record.TypeSnapshotMark:
		d := record.NewDecoder(rec.Payload)
		o.mark = snapshotMark{index: d.Uvarint(), term: d.Uvarint()}
		switch k := d.Byte(); k {
		case 0, 1:
			o.mark.keep = k == 1
		default:
			return o, fmt.Errorf("bad keep flag %d in snapshot marker", k)
		}
		err = d.Finish()
	default:
		return o, fmt.Errorf("%v record in a log segment", rec.Type)
	}
	if err != nil {
		return o, fmt.Errorf("%v record: %w", rec.Type, err)
	}
	return o, nil
}

// isVersion reports whether err is a segment header of another version.
func isVersion(err error) (errVersion, bool) {
	var v errVersion
	ok := errors.As(err, &v)
	return v, ok
}
