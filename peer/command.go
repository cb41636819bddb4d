package peer

import (
	"encoding/binary"
	"errors"
)

// A command travels in an entry behind a small header naming the member
// that proposed it and its sequence number there, so that the member can
// resolve its future when it applies the entry, wherever it was proposed.
const commandVersion = 1

var errBadCommand = errors.New("peer: malformed command header")

func encodeCommand(proposer, seq uint64, cmd []byte) []byte {
	b := make([]byte, 0, 1+2*binary.MaxVarintLen64+len(cmd))
	b = append(b, commandVersion)
	b = binary.AppendUvarint(b, proposer)
	b = binary.AppendUvarint(b, seq)
	return append(b, cmd...)
}

func decodeCommand(b []byte) (proposer, seq uint64, cmd []byte, err error) {
	if len(b) == 0 || b[0] != commandVersion {
		return 0, 0, nil, errBadCommand
	}
	b = b[1:]
	proposer, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, 0, nil, errBadCommand
	}
	b = b[n:]
	seq, n = binary.Uvarint(b)
	if n <= 0 {
		return 0, 0, nil, errBadCommand
	}
	return proposer, seq, b[n:], nil
}
