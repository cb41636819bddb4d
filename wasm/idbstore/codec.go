//go:build js && wasm

package idbstore

import (
	"fmt"

	"github.com/tabraft/tabraft/peer/record"
	"github.com/tabraft/tabraft/raft"
)

// maxValue bounds the payload of a stored record (a record's length
// field holds 32 bits).
const maxValue = 1<<32 - 1

// encodeRun encodes consecutive entries as one record.
func encodeRun(buf []byte, ents []raft.Entry) []byte {
	return record.AppendOne(buf, record.TypeEntries, func(b []byte) []byte { return record.AppendEntries(b, ents) })
}

func encodeHard(buf []byte, hs raft.HardState) []byte {
	return record.AppendOne(buf, record.TypeHardState, func(b []byte) []byte { return record.AppendHardState(b, hs) })
}

func encodeSnap(buf []byte, s raft.Snapshot) []byte {
	return record.AppendOne(buf, record.TypeSnapshot, func(b []byte) []byte { return record.AppendSnapshot(b, s) })
}

// decodeRun decodes an entries record, whose entries must all have
// indexes that IndexedDB number keys hold exactly.
func decodeRun(b []byte) ([]raft.Entry, error) {
	p, err := record.ParseOne(b, record.TypeEntries, maxValue)
	if err != nil {
		return nil, err
	}
	ents, err := record.DecodeEntries(p)
	if err != nil {
		return nil, err
	}
	if last := ents[len(ents)-1].Index; last > maxIndex {
		return nil, fmt.Errorf("entry %d is beyond the largest index of a number key (%d)", last, uint64(maxIndex))
	}
	return ents, nil
}

func decodeHard(b []byte) (raft.HardState, error) {
	p, err := record.ParseOne(b, record.TypeHardState, maxValue)
	if err != nil {
		return raft.HardState{}, err
	}
	return record.DecodeHardState(p)
}

func decodeSnap(b []byte) (raft.Snapshot, error) {
	p, err := record.ParseOne(b, record.TypeSnapshot, maxValue)
	if err != nil {
		return raft.Snapshot{}, err
	}
	return record.DecodeSnapshot(p)
}
