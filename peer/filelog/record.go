package filelog

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

const (
	recordHeaderSize = 16
	recordAlign      = 8
	// maxRecordLen bounds the payload of a log record. It is part of the
	// format (not an option), so that a log written under one setting can
	// never look corrupt under another.
	maxRecordLen = 1 << 30
	// maxSnapshotRecordLen bounds the payload of a snapshot file record.
	maxSnapshotRecordLen = 1<<32 - 1
	// entriesChunk is the payload size after which Save starts a new
	// entries record within a batch.
	entriesChunk = 1 << 20
)

type recordType uint8

const (
	recSegmentHeader recordType = 1 + iota
	recEntries
	recHardState
	recSnapshotMark
	recSnapshotFile
)

func (t recordType) String() string {
	switch t {
	case recSegmentHeader:
		return "segment header"
	case recEntries:
		return "entries"
	case recHardState:
		return "hard state"
	case recSnapshotMark:
		return "snapshot marker"
	case recSnapshotFile:
		return "snapshot file"
	}
	return fmt.Sprintf("record type %d", uint8(t))
}

func (t recordType) valid() bool { return t >= recSegmentHeader && t <= recSnapshotFile }

// flagBatchEnd marks the last record of a batch.
const flagBatchEnd uint8 = 1

// castagnoli is the CRC-32C table; it is never modified after init.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// paddedLen is n rounded up to the record alignment.
func paddedLen(n int64) int64 { return (n + recordAlign - 1) &^ (recordAlign - 1) }

var zeroHeader [recordHeaderSize]byte

// beginRecord reserves a record header at the end of buf; the payload is
// appended after it and finishRecord completes the record.
func beginRecord(buf []byte) ([]byte, int) {
	return append(buf, zeroHeader[:]...), len(buf)
}

// finishRecord pads the payload appended since beginRecord returned start
// and fills in the header.
func finishRecord(buf []byte, start int, t recordType, flags uint8) []byte {
	n := len(buf) - start - recordHeaderSize
	for pad := paddedLen(int64(n)) - int64(n); pad > 0; pad-- {
		buf = append(buf, 0)
	}
	h := buf[start : start+recordHeaderSize]
	binary.LittleEndian.PutUint32(h[0:], uint32(n))
	h[4] = byte(t)
	h[5] = flags
	h[6], h[7] = 0, 0
	binary.LittleEndian.PutUint32(h[8:], checksum(buf[start+recordHeaderSize:]))
	binary.LittleEndian.PutUint32(h[12:], checksum(h[:12]))
	return buf
}

// setBatchEnd sets the batch-end flag of the record starting at start.
func setBatchEnd(buf []byte, start int) {
	h := buf[start : start+recordHeaderSize]
	h[5] |= flagBatchEnd
	binary.LittleEndian.PutUint32(h[12:], checksum(h[:12]))
}

// record is a validated record read from a file.
type record struct {
	typ     recordType
	flags   uint8
	payload []byte
	off     int64 // offset of the header in the file
	end     int64 // offset just after the padded payload
}

func (r *record) batchEnd() bool { return r.flags&flagBatchEnd != 0 }

// parseRecord validates the record that starts at data[off:]. It returns
// a non-empty reason when the record is invalid.
func parseRecord(data []byte, off int64, limit int64) (rec record, reason string) {
	if int64(len(data))-off < recordHeaderSize {
		return record{}, "record header cut short"
	}
	h := data[off : off+recordHeaderSize]
	if checksum(h[:12]) != binary.LittleEndian.Uint32(h[12:]) {
		return record{}, "record header checksum mismatch"
	}
	n := int64(binary.LittleEndian.Uint32(h[0:]))
	rec = record{typ: recordType(h[4]), flags: h[5], off: off, end: off + recordHeaderSize + paddedLen(n)}
	if !rec.typ.valid() {
		return rec, fmt.Sprintf("unknown record type %d", h[4])
	}
	if rec.flags&^flagBatchEnd != 0 || h[6] != 0 || h[7] != 0 {
		return rec, "reserved header bits are set"
	}
	if n > limit {
		return rec, fmt.Sprintf("record length %d exceeds the limit of %d", n, limit)
	}
	if rec.end > int64(len(data)) {
		return rec, fmt.Sprintf("record of %d bytes runs past the end of the file (%d bytes)", n, len(data))
	}
	body := data[off+recordHeaderSize : rec.end]
	if checksum(body) != binary.LittleEndian.Uint32(h[8:]) {
		return rec, "payload checksum mismatch"
	}
	rec.payload = body[:n]
	return rec, ""
}

// segmentScan is what scanSegment found in a segment file.
type segmentScan struct {
	batches [][]record // complete batches, in order
	goodEnd int64      // end of the last complete batch
	// badOff is the offset of the first invalid record (-1: none), and
	// badReason says what is wrong with it.
	badOff    int64
	badReason string
	// resumeOff is where a search for valid records after the bad one starts.
	resumeOff int64
}

// scanSegment reads records from the start of data until the end or the
// first invalid record. Records after the last batch end that form no
// complete batch are left out of batches (goodEnd stops before them).
func scanSegment(data []byte) segmentScan {
	s := segmentScan{badOff: -1}
	var pending []record
	var off int64
	for off < int64(len(data)) {
		rec, reason := parseRecord(data, off, maxRecordLen)
		if reason != "" {
			// The search for later valid records starts right after the
			// bad record's header, not after its claimed end: a length
			// is never trusted to skip data. (A torn record whose user
			// data happens to hold a valid record image therefore makes
			// Open fail rather than drop anything: the safe direction.)
			s.badOff, s.badReason, s.resumeOff = off, reason, off+recordAlign
			break
		}
		pending = append(pending, rec)
		off = rec.end
		if rec.batchEnd() {
			s.batches = append(s.batches, pending)
			pending = nil
			s.goodEnd = off
		}
	}
	return s
}

// findValidRecord returns the offset of the first entirely valid record at
// an aligned offset at or after from, or -1.
func findValidRecord(data []byte, from int64) int64 {
	for off := paddedLen(from); off+recordHeaderSize <= int64(len(data)); off += recordAlign {
		if _, reason := parseRecord(data, off, maxRecordLen); reason == "" {
			return off
		}
	}
	return -1
}
