package wire

import (
	"errors"
	"fmt"

	"github.com/tabraft/tabraft/raft"
)

// Version is the wire format version this package writes. Every fragment
// starts with it. The Decoder also reads version 1 (VersionMin), which is
// version 2 without the Cluster field; a fragment of any other version is
// rejected with ErrUnknownVersion.
const Version byte = 2

// VersionMin is the oldest wire format version the Decoder reads.
const VersionMin byte = 1

// MaxFragmentSize is the largest fragment Encode returns: 16 KiB, the message
// size every WebRTC implementation delivers whole.
const MaxFragmentSize = 16 << 10

// Fragment header layout (see the package documentation).
const (
	singleHeaderLen = 2                                // version, flags
	multiHeaderLen  = 2 + 4 + 2 + 2                    // version, flags, message id, index, count
	fragmentPayload = MaxFragmentSize - multiHeaderLen // message bytes per fragment of a split message
	maxFragments    = 1<<16 - 1                        // index and count are uint16
)

// Fragment header flags. Bits not listed here must be zero.
const (
	flagSplit   byte = 1 << 0 // the fragment is one of several: id, index and count follow
	knownFlags       = flagSplit
	payloadRaw  byte = 0 // payload codec: stored as is
	payloadZstd byte = 1 // payload codec: one zstd frame, preceded by the raw length
)

// Field presence bits of a message body. Bits not listed must be zero.
const (
	fFrom uint64 = 1 << iota
	fTo
	fTerm
	fLogTerm
	fIndex
	fCommit
	fReject // no value: the bit is the value
	fRejectHint
	fHintTerm
	fContext
	fEntries
	fChunk
	fCluster      // version 2 on
	knownFieldsV1 = fChunk<<1 - 1
	knownFields   = fCluster<<1 - 1
)

// wireTypes is the stable table of message type numbers on the wire. Numbers
// are never reused or renumbered; a new message type gets a new number. Local
// message types (MsgHup, MsgBeat, MsgUnreachable) have none: they never leave
// a member. Zero is not a valid number.
var wireTypes = [...]struct {
	b byte
	t raft.MessageType
}{
	{1, raft.MsgProp},
	{2, raft.MsgApp},
	{3, raft.MsgAppResp},
	{4, raft.MsgVote},
	{5, raft.MsgVoteResp},
	{6, raft.MsgPreVote},
	{7, raft.MsgPreVoteResp},
	{8, raft.MsgHeartbeat},
	{9, raft.MsgHeartbeatResp},
	{10, raft.MsgSnap},
	{11, raft.MsgSnapResp},
	{12, raft.MsgTransferLeader},
	{13, raft.MsgTimeoutNow},
	{14, raft.MsgReadIndex},
	{15, raft.MsgReadIndexResp},
}

func typeToWire(t raft.MessageType) (byte, bool) {
	for _, w := range wireTypes {
		if w.t == t {
			return w.b, true
		}
	}
	return 0, false
}

func typeFromWire(b byte) (raft.MessageType, bool) {
	for _, w := range wireTypes {
		if w.b == b {
			return w.t, true
		}
	}
	return 0, false
}

// Entry type numbers on the wire, mapped explicitly like message types.
func entryTypeToWire(t raft.EntryType) (byte, bool) {
	switch t {
	case raft.EntryNormal:
		return 0, true
	case raft.EntryConfChange:
		return 1, true
	}
	return 0, false
}

func entryTypeFromWire(b byte) (raft.EntryType, bool) {
	switch b {
	case 0:
		return raft.EntryNormal, true
	case 1:
		return raft.EntryConfChange, true
	}
	return 0, false
}

// Errors. Every error the Decoder returns wraps exactly one of the reason
// errors below (test with errors.Is); Encoder errors wrap ErrUnencodable or
// ErrTooLarge.
var (
	// ErrMalformed: truncated or garbled input (bad varint, unknown flag,
	// field bit or codec, trailing bytes, a length or count past the end).
	ErrMalformed = errors.New("malformed frame")
	// ErrUnknownVersion: a fragment of a wire version this package does not speak.
	ErrUnknownVersion = errors.New("unknown wire version")
	// ErrUnknownType: a message or entry type number missing from the table.
	ErrUnknownType = errors.New("unknown message type")
	// ErrTooLarge: a message, fragment count, entry count or node list over Limits.
	ErrTooLarge = errors.New("message too large")
	// ErrDecompressedTooLarge: a compressed payload that expands past
	// Limits.MaxDecompressed or past the length it declared (a decompression bomb).
	ErrDecompressedTooLarge = errors.New("decompressed payload too large")
	// ErrCorrupt: a compressed payload that does not decompress, or
	// decompresses to fewer bytes than declared.
	ErrCorrupt = errors.New("corrupt compressed payload")
	// ErrSequence: a fragment that does not continue the message being
	// reassembled (wrong id, index or count), or continues none.
	ErrSequence = errors.New("fragment out of sequence")
	// ErrUnencodable: a message the encoder refuses (a local message type,
	// an unknown entry type).
	ErrUnencodable = errors.New("message cannot be encoded")
)

// Reason classifies a rejected input for the Stats counters.
type Reason uint8

// Rejection reasons, one per decoder error.
const (
	ReasonMalformed Reason = iota
	ReasonVersion
	ReasonType
	ReasonTooLarge
	ReasonBomb
	ReasonCorrupt
	ReasonSequence
	NumReasons // the number of reasons, for iterating
)

var reasonErrs = [NumReasons]error{
	ReasonMalformed: ErrMalformed,
	ReasonVersion:   ErrUnknownVersion,
	ReasonType:      ErrUnknownType,
	ReasonTooLarge:  ErrTooLarge,
	ReasonBomb:      ErrDecompressedTooLarge,
	ReasonCorrupt:   ErrCorrupt,
	ReasonSequence:  ErrSequence,
}

var reasonNames = [NumReasons]string{
	ReasonMalformed: "malformed",
	ReasonVersion:   "version",
	ReasonType:      "type",
	ReasonTooLarge:  "too-large",
	ReasonBomb:      "bomb",
	ReasonCorrupt:   "corrupt",
	ReasonSequence:  "sequence",
}

func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// Err returns the sentinel error of r (nil for an unknown reason).
func (r Reason) Err() error {
	if r < NumReasons {
		return reasonErrs[r]
	}
	return nil
}

// ReasonOf returns the reason a decoder error wraps, and false if err wraps
// none of the reason errors.
func ReasonOf(err error) (Reason, bool) {
	for r, e := range reasonErrs {
		if errors.Is(err, e) {
			return Reason(r), true
		}
	}
	return 0, false
}

// Limits bound what a Decoder accepts and what an Encoder produces. Both ends
// of a connection should use the same limits: an Encoder refuses a message
// its peer's Decoder would reject. A zero field takes its default.
type Limits struct {
	// MaxMessageSize bounds the encoded size of one message (reassembled,
	// before decompression). Default 4 MiB.
	MaxMessageSize int
	// MaxDecompressed bounds the decompressed size of a message's payload
	// (entries, snapshot chunk). It is checked against the declared length
	// before decompression and enforced during it. Default 8 MiB.
	MaxDecompressed int
	// MaxFragments bounds the fragments of one message. Default: as many as
	// MaxMessageSize needs (and never more than 65535).
	MaxFragments int
	// MaxEntries bounds the entries of one message. Default 65536.
	MaxEntries int
	// MaxNodes bounds each node list of a snapshot's configuration. Default 4096.
	MaxNodes int
}

// DefaultLimits returns the limits used for zero fields.
func DefaultLimits() Limits { return Limits{}.withDefaults() }

func (l Limits) withDefaults() Limits {
	if l.MaxMessageSize <= 0 {
		l.MaxMessageSize = 4 << 20
	}
	if l.MaxDecompressed <= 0 {
		l.MaxDecompressed = 8 << 20
	}
	if l.MaxFragments <= 0 {
		l.MaxFragments = (l.MaxMessageSize + fragmentPayload - 1) / fragmentPayload
	}
	l.MaxFragments = min(max(l.MaxFragments, 1), maxFragments)
	if l.MaxEntries <= 0 {
		l.MaxEntries = 1 << 16
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = 4096
	}
	return l
}

// maxBody is the largest message the limits let through: a message larger
// than one fragment needs a split, and a split has at most MaxFragments parts.
func (l Limits) maxBody() int {
	n := l.MaxMessageSize
	if l.MaxFragments == 1 {
		n = min(n, MaxFragmentSize-singleHeaderLen)
	} else {
		n = min(n, l.MaxFragments*fragmentPayload)
	}
	return n
}

// Options configure an Encoder or a Decoder.
type Options struct {
	// Limits bound message sizes; zero fields take defaults.
	Limits Limits
	// Stats receives the counters; several encoders and decoders may share
	// one. Nil: the Encoder or Decoder keeps its own.
	Stats *Stats
	// CompressThreshold is the raw payload size from which the encoder tries
	// compression; smaller payloads travel raw. Zero means 256; negative
	// disables compression. Decoders ignore it.
	CompressThreshold int
}

// defaultCompressThreshold: below it, zstd's frame overhead (~10 bytes) eats
// most of the gain and the CPU is better spent elsewhere.
const defaultCompressThreshold = 256
