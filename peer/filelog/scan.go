package filelog

import (
	"github.com/tabraft/tabraft/peer/record"
)

const (
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

// fileRecord is a validated record read from a file.
type fileRecord struct {
	record.Record
	off int64 // offset of the header in the file
}

// segmentScan is what scanSegment found in a segment file.
type segmentScan struct {
	batches [][]fileRecord // complete batches, in order
	goodEnd int64          // end of the last complete batch
	// badOff is the offset of the first invalid record (-1: none), and
	// badErr says what is wrong with it.
	badOff int64
	badErr error
	// resumeOff is where a search for valid records after the bad one starts.
	resumeOff int64
}

// scanSegment reads records from the start of data until the end or the
// first invalid record. Records after the last batch end that form no
// complete batch are left out of batches (goodEnd stops before them).
func scanSegment(data []byte) segmentScan {
	s := segmentScan{badOff: -1}
	var pending []fileRecord
	var off int64
	for off < int64(len(data)) {
		rec, err := record.Parse(data, off, maxRecordLen)
		if err != nil {
			// The search for later valid records starts right after the
			// bad record's header, not after its claimed end: a length
			// is never trusted to skip data. (A torn record whose user
			// data happens to hold a valid record image therefore makes
			// Open fail rather than drop anything: the safe direction.)
			s.badOff, s.badErr, s.resumeOff = off, err, off+record.Align
			break
		}
		pending = append(pending, fileRecord{rec, off})
		off = rec.End
		if rec.BatchEnd() {
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
	for off := record.PaddedLen(from); off+record.HeaderSize <= int64(len(data)); off += record.Align {
		if _, err := record.Parse(data, off, maxRecordLen); err == nil {
			return off
		}
	}
	return -1
}
