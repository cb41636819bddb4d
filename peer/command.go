package peer

import (
	"encoding/binary"
	"errors"
)

// A command travels in an entry behind a small header naming the member
// that proposed it, that member's run (a nonce drawn at each start: a
// restarted member counts its sequence numbers from 1 again, while entries
// of its previous run may still be applied) and the sequence number, so
// that the member resolves the right future when it applies the entry,
// wherever it was proposed.
const commandVersion = 2

var errBadCommand = errors.New("peer: malformed command header")

// commandID identifies a proposal: who, which run of it, which one.
type commandID struct {
	proposer, run, seq uint64
}

// maxCommandHeader is the largest header a command gets.
const maxCommandHeader = 1 + 8 + 2*binary.MaxVarintLen64

func encodeCommand(id commandID, cmd []byte) []byte {
	return appendCommand(make([]byte, 0, maxCommandHeader+len(cmd)), id, cmd)
}

// appendCommand appends cmd with its header to b.
func appendCommand(b []byte, id commandID, cmd []byte) []byte {
	b = append(b, commandVersion)
	b = binary.AppendUvarint(b, id.proposer)
	b = binary.LittleEndian.AppendUint64(b, id.run)
	b = binary.AppendUvarint(b, id.seq)
	return append(b, cmd...)
}

func decodeCommand(b []byte) (id commandID, cmd []byte, err error) {
	if len(b) == 0 || b[0] != commandVersion {
		return id, nil, errBadCommand
	}
	b = b[1:]
	var n int
	if id.proposer, n = binary.Uvarint(b); n <= 0 {
		return id, nil, errBadCommand
	}
	b = b[n:]
	if len(b) < 8 {
		return id, nil, errBadCommand
	}
	id.run, b = binary.LittleEndian.Uint64(b), b[8:]
	if id.seq, n = binary.Uvarint(b); n <= 0 {
		return id, nil, errBadCommand
	}
	return id, b[n:], nil
}
