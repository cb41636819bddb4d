// Package record is the stored format shared by tabraft's durable stores:
// peer/filelog writes records one after another in its segment and
// snapshot files, wasm/idbstore keeps one record in each IndexedDB value.
// A run of log entries, a hard state or a snapshot is the same bytes in
// both.
//
// # Framing
//
// A record is a 16-byte header followed by the payload, zero-padded to a
// multiple of 8 bytes (so that records written one after another start at
// aligned offsets):
//
//	0  uint32  payload length (little endian, without padding)
//	4  uint8   type (see Type)
//	5  uint8   flags: bit 0 = last record of its batch; other bits zero
//	6  uint16  zero
//	8  uint32  CRC-32C (Castagnoli) of the payload and its padding
//	12 uint32  CRC-32C of header bytes 0..11
//
// The header checksum makes the length trustworthy before it is used, so
// a corrupt length never causes a large allocation. What a batch is, and
// how records are found in a file, is the stores' business (a file needs
// the batch flag to make a write of several records atomic; an IndexedDB
// value is one record, written atomically by the database, and sets it).
//
// # Payloads
//
// Integers are unsigned varints (encoding/binary's Uvarint).
//
//	entries     first index, count (at least 1), then per entry: term,
//	            type (1 byte), data length, data; the indexes follow from
//	            the first
//	hard state  term, vote, commit, then the cluster id if not zero (data
//	            written before cluster ids has none: cluster 0)
//	snapshot    index (not 0), term, the configuration as four node lists
//	            (voters, learners, outgoing voters, learners next: each a
//	            count and the ids), data length, data
//
// The segment header and snapshot marker types are peer/filelog's; their
// payloads are documented there.
//
// Decoding never trusts a count or a length beyond the bytes present, and
// copies what it returns out of the payload (the caller's buffer is not
// kept alive).
package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

const (
	// HeaderSize is the size of a record header.
	HeaderSize = 16
	// Align is the alignment of a record's size (and of its offset, when
	// records follow one another).
	Align = 8
)

// Type says what a record's payload holds.
type Type uint8

// The record types. Their numbers are part of the format.
const (
	TypeSegmentHeader Type = 1 + iota // peer/filelog: what a segment starts from
	TypeEntries                       // a run of consecutive log entries
	TypeHardState                     // term, vote, commit
	TypeSnapshotMark                  // peer/filelog: a snapshot took effect in the log
	TypeSnapshot                      // a snapshot: metadata and data
)

func (t Type) String() string {
	switch t {
	case TypeSegmentHeader:
		return "segment header"
	case TypeEntries:
		return "entries"
	case TypeHardState:
		return "hard state"
	case TypeSnapshotMark:
		return "snapshot marker"
	case TypeSnapshot:
		return "snapshot"
	}
	return fmt.Sprintf("record type %d", uint8(t))
}

func (t Type) valid() bool { return t >= TypeSegmentHeader && t <= TypeSnapshot }

// FlagBatchEnd marks the last record of a batch.
const FlagBatchEnd uint8 = 1

// castagnoli is the CRC-32C table; it is never modified after init.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum returns the CRC-32C of b.
func Checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// UpdateChecksum returns the CRC-32C of what sum covered followed by b.
func UpdateChecksum(sum uint32, b []byte) uint32 { return crc32.Update(sum, castagnoli, b) }

// PaddedLen is n rounded up to the record alignment.
func PaddedLen(n int64) int64 { return (n + Align - 1) &^ (Align - 1) }

// Header returns the header of a record of type t whose payload is n
// bytes long and whose payload and padding have the checksum sum (for
// writers that stream a large payload rather than build it in memory).
func Header(t Type, flags uint8, n int64, sum uint32) [HeaderSize]byte {
	var h [HeaderSize]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(n))
	h[4] = byte(t)
	h[5] = flags
	binary.LittleEndian.PutUint32(h[8:], sum)
	binary.LittleEndian.PutUint32(h[12:], Checksum(h[:12]))
	return h
}

var zeroHeader [HeaderSize]byte

// Begin reserves a record header at the end of buf and returns where the
// record starts; the payload is appended after it and Finish completes
// the record.
func Begin(buf []byte) ([]byte, int) {
	return append(buf, zeroHeader[:]...), len(buf)
}

// Finish pads the payload appended since Begin returned start and fills in
// the header.
func Finish(buf []byte, start int, t Type, flags uint8) []byte {
	n := len(buf) - start - HeaderSize
	for pad := PaddedLen(int64(n)) - int64(n); pad > 0; pad-- {
		buf = append(buf, 0)
	}
	h := Header(t, flags, int64(n), Checksum(buf[start+HeaderSize:]))
	copy(buf[start:], h[:])
	return buf
}

// SetBatchEnd sets the batch-end flag of the record starting at start.
func SetBatchEnd(buf []byte, start int) {
	h := buf[start : start+HeaderSize]
	h[5] |= FlagBatchEnd
	binary.LittleEndian.PutUint32(h[12:], Checksum(h[:12]))
}

// Record is a validated record.
type Record struct {
	Type    Type
	Flags   uint8
	Payload []byte // aliases the data it was parsed from
	End     int64  // offset just after the padded payload
}

// BatchEnd reports whether the record ends its batch.
func (r *Record) BatchEnd() bool { return r.Flags&FlagBatchEnd != 0 }

// Errors of Parse that need no formatting (Parse runs at every aligned
// offset when a file is searched for records: these do not allocate).
var (
	errHeaderShort    = errors.New("record header cut short")
	errHeaderChecksum = errors.New("record header checksum mismatch")
	errReserved       = errors.New("reserved header bits are set")
	errPayloadSum     = errors.New("payload checksum mismatch")
)

// Parse validates the record that starts at data[off:], whose payload may
// be at most limit bytes long. The error says what is wrong with an
// invalid one; End is set whenever the header was intact.
func Parse(data []byte, off, limit int64) (Record, error) {
	if int64(len(data))-off < HeaderSize {
		return Record{}, errHeaderShort
	}
	h := data[off : off+HeaderSize]
	if Checksum(h[:12]) != binary.LittleEndian.Uint32(h[12:]) {
		return Record{}, errHeaderChecksum
	}
	n := int64(binary.LittleEndian.Uint32(h[0:]))
	rec := Record{Type: Type(h[4]), Flags: h[5], End: off + HeaderSize + PaddedLen(n)}
	if !rec.Type.valid() {
		return rec, fmt.Errorf("unknown record type %d", h[4])
	}
	if rec.Flags&^FlagBatchEnd != 0 || h[6] != 0 || h[7] != 0 {
		return rec, errReserved
	}
	if n > limit {
		return rec, fmt.Errorf("record length %d exceeds the limit of %d", n, limit)
	}
	if rec.End > int64(len(data)) {
		return rec, fmt.Errorf("record of %d bytes runs past the end of the data (%d bytes)", n, len(data))
	}
	body := data[off+HeaderSize : rec.End]
	if Checksum(body) != binary.LittleEndian.Uint32(h[8:]) {
		return rec, errPayloadSum
	}
	rec.Payload = body[:n]
	return rec, nil
}

// ParseOne validates b as exactly one record of type t (with the batch
// flag set) and returns its payload.
func ParseOne(b []byte, t Type, limit int64) ([]byte, error) {
	rec, err := Parse(b, 0, limit)
	switch {
	case err != nil:
		return nil, err
	case rec.Type != t:
		return nil, fmt.Errorf("%v record where the %v record belongs", rec.Type, t)
	case !rec.BatchEnd():
		return nil, errors.New("record does not end its batch")
	case rec.End != int64(len(b)):
		return nil, fmt.Errorf("%d unexpected bytes after the record", int64(len(b))-rec.End)
	}
	return rec.Payload, nil
}

// AppendOne appends a record of type t holding what payload appends,
// flagged as a batch of its own (the form ParseOne reads).
func AppendOne(buf []byte, t Type, payload func([]byte) []byte) []byte {
	buf, start := Begin(buf)
	buf = payload(buf)
	return Finish(buf, start, t, FlagBatchEnd)
}
