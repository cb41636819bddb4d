package wire

import (
	"encoding/binary"
	"fmt"

	"github.com/klauspost/compress/zstd"

	"github.com/tabraft/tabraft/raft"
)

// zstdLevel is the encoder level; see the package documentation for the
// measurements behind it.
const zstdLevel = zstd.SpeedFastest

// Encoder turns raft messages into fragments ready for DataChannel.Send. It
// holds a zstd encoder and scratch buffers, reused from message to message:
// create one per connection (or share one between connections used from a
// single goroutine). An Encoder is not safe for concurrent use.
type Encoder struct {
	lim       Limits
	stats     *Stats
	threshold int
	zenc      *zstd.Encoder
	// literals tells whether zenc entropy-codes literals (its mode for
	// payloads up to entropyLimit bytes); it is switched as payloads cross
	// that size.
	literals bool
	nextID   uint32
	fragSize int // MaxFragmentSize; smaller in tests, to split small messages

	payload, comp, body []byte // scratch
}

// NewEncoder returns an Encoder with the given options.
func NewEncoder(opts Options) (*Encoder, error) {
	zenc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstdLevel),
		zstd.WithEncoderConcurrency(1),
		// The data channel (SCTP) already checksums every packet.
		zstd.WithEncoderCRC(false),
		// Payloads are rarely above 64 KiB (raft's MaxSizePerMsg): a 1 MiB
		// window loses nothing there and bounds the encoder's memory.
		zstd.WithWindowSize(1<<20),
		zstd.WithLowerEncoderMem(true),
		// Single segment: the frame header always records the content
		// size, which the decoder checks against the declared length.
		zstd.WithSingleSegment(true),
	)
	if err != nil {
		return nil, fmt.Errorf("wire: new zstd encoder: %w", err)
	}
	e := &Encoder{lim: opts.Limits.withDefaults(), stats: opts.Stats, zenc: zenc, literals: true,
		threshold: opts.CompressThreshold, fragSize: MaxFragmentSize}
	if e.stats == nil {
		e.stats = new(Stats)
	}
	if e.threshold == 0 {
		e.threshold = defaultCompressThreshold
	}
	return e, nil
}

// Stats returns the counters the Encoder updates.
func (e *Encoder) Stats() *Stats { return e.stats }

// Close releases the compressor. The Encoder must not be used afterwards.
func (e *Encoder) Close() error { return e.zenc.Close() }

// Encode returns m's fragments, each at most MaxFragmentSize bytes, to be
// sent in order on one reliable ordered channel. The fragments share one
// fresh allocation and belong to the caller.
func (e *Encoder) Encode(m raft.Message) ([][]byte, error) {
	return e.AppendFrames(nil, m)
}

// AppendFrames is Encode appending the fragments to dst. On error dst is
// returned unchanged.
func (e *Encoder) AppendFrames(dst [][]byte, m raft.Message) ([][]byte, error) {
	body, rawSize, compressed, err := e.encodeBody(m)
	defer e.trimScratch()
	if err != nil {
		return dst, fmt.Errorf("wire: encode %s %d→%d: %w", m.Type, m.From, m.To, err)
	}
	count := 1
	if len(body) > e.fragSize-singleHeaderLen {
		count = (len(body) + e.fragSize - multiHeaderLen - 1) / (e.fragSize - multiHeaderLen)
	}
	if count > e.lim.MaxFragments {
		return dst, fmt.Errorf("wire: encode %s %d→%d: %w: %d bytes need %d fragments, limit %d",
			m.Type, m.From, m.To, ErrTooLarge, len(body), count, e.lim.MaxFragments)
	}
	n := len(dst)
	dst = appendFragments(dst, body, e.nextID, e.fragSize)
	e.nextID++

	var wire uint64
	for _, f := range dst[n:] {
		wire += uint64(len(f))
	}
	e.stats.messagesSent.Add(1)
	e.stats.fragmentsSent.Add(uint64(len(dst) - n))
	e.stats.wireBytesSent.Add(wire)
	e.stats.rawBytesSent.Add(uint64(rawSize))
	if compressed {
		e.stats.compressedSent.Add(1)
	}
	return dst, nil
}

// maxScratch is the largest scratch buffer an Encoder keeps between
// messages: one rare large message must not pin its size for good.
const maxScratch = 256 << 10

func (e *Encoder) trimScratch() {
	for _, p := range [...]*[]byte{&e.payload, &e.comp, &e.body} {
		if cap(*p) > maxScratch {
			*p = nil
		}
	}
}

// appendFragments splits body into fragments with their headers, all in
// one new backing array.
func appendFragments(dst [][]byte, body []byte, id uint32, fragSize int) [][]byte {
	if len(body) <= fragSize-singleHeaderLen {
		f := make([]byte, 0, singleHeaderLen+len(body))
		f = append(f, Version, 0)
		return append(dst, append(f, body...))
	}
	per := fragSize - multiHeaderLen
	count := (len(body) + per - 1) / per
	buf := make([]byte, 0, len(body)+count*multiHeaderLen)
	for i := range count {
		part := body[i*per : min((i+1)*per, len(body))]
		start := len(buf)
		buf = append(buf, Version, flagSplit)
		buf = binary.BigEndian.AppendUint32(buf, id)
		buf = binary.BigEndian.AppendUint16(buf, uint16(i))
		buf = binary.BigEndian.AppendUint16(buf, uint16(count))
		buf = append(buf, part...)
		dst = append(dst, buf[start:len(buf):len(buf)])
	}
	return dst
}

// encodeBody writes m's body into e.body. rawSize is the body's size had the
// payload gone uncompressed.
func (e *Encoder) encodeBody(m raft.Message) (body []byte, rawSize int, compressed bool, err error) {
	wt, ok := typeToWire(m.Type)
	if !ok {
		return nil, 0, false, fmt.Errorf("%w: %s has no wire number", ErrUnencodable, m.Type)
	}
	var mask uint64
	set := func(bit uint64, present bool) {
		if present {
			mask |= bit
		}
	}
	set(fFrom, m.From != 0)
	set(fTo, m.To != 0)
	set(fTerm, m.Term != 0)
	set(fLogTerm, m.LogTerm != 0)
	set(fIndex, m.Index != 0)
	set(fCommit, m.Commit != 0)
	set(fReject, m.Reject)
	set(fRejectHint, m.RejectHint != 0)
	set(fHintTerm, m.HintTerm != 0)
	set(fContext, len(m.Context) > 0)
	set(fEntries, len(m.Entries) > 0)
	set(fChunk, m.Chunk != nil)
	set(fCluster, m.Cluster != 0)

	b := append(e.body[:0], wt)
	b = binary.AppendUvarint(b, mask)
	for _, f := range [...]struct {
		bit uint64
		v   uint64
	}{
		{fFrom, uint64(m.From)}, {fTo, uint64(m.To)}, {fTerm, m.Term}, {fLogTerm, m.LogTerm},
		{fIndex, m.Index}, {fCommit, m.Commit}, {fRejectHint, m.RejectHint}, {fHintTerm, m.HintTerm},
		{fCluster, m.Cluster},
	} {
		if mask&f.bit != 0 {
			b = binary.AppendUvarint(b, f.v)
		}
	}
	if mask&fContext != 0 {
		b = appendBytes(b, m.Context)
	}
	rawSize = len(b)
	if mask&(fEntries|fChunk) != 0 {
		p := e.payload[:0]
		if mask&fEntries != 0 {
			if p, err = e.appendEntries(p, m.Entries); err != nil {
				return nil, 0, false, err
			}
		}
		if mask&fChunk != 0 {
			if p, err = e.appendChunk(p, m.Chunk); err != nil {
				return nil, 0, false, err
			}
		}
		e.payload = p
		if len(p) > e.lim.MaxDecompressed {
			return nil, 0, false, fmt.Errorf("%w: payload of %d bytes over MaxDecompressed %d", ErrTooLarge, len(p), e.lim.MaxDecompressed)
		}
		rawSize += 1 + len(p)
		if e.threshold > 0 && len(p) >= e.threshold {
			if err := e.entropyCoding(len(p) <= entropyLimit); err != nil {
				return nil, 0, false, err
			}
			e.comp = e.zenc.EncodeAll(p, e.comp[:0])
			if len(e.comp)+uvarintLen(uint64(len(p))) < len(p) {
				compressed = true
			}
		}
		if compressed {
			b = append(b, payloadZstd)
			b = binary.AppendUvarint(b, uint64(len(p)))
			b = append(b, e.comp...)
		} else {
			b = append(b, payloadRaw)
			b = append(b, p...)
		}
	}
	e.body = b
	if limit := e.lim.maxBody(); len(b) > limit {
		return nil, 0, false, fmt.Errorf("%w: %d bytes encoded, limit %d", ErrTooLarge, len(b), limit)
	}
	return b, rawSize, compressed, nil
}

// entropyLimit is the largest payload whose literals are entropy-coded
// (Huffman, zstd's default); larger ones are compressed with matches only.
// See the package documentation for the measurements behind it.
const entropyLimit = 4 << 10

// entropyCoding switches the compressor's entropy coding of literals on or
// off, if it is not already so.
func (e *Encoder) entropyCoding(on bool) error {
	if on == e.literals {
		return nil
	}
	if err := e.zenc.ResetWithOptions(nil, zstd.WithNoEntropyCompression(!on)); err != nil {
		return fmt.Errorf("switching entropy coding: %w", err)
	}
	e.literals = on
	return nil
}

// appendEntries writes the entry count, then each entry: term and index as
// signed deltas from the previous entry's term and index+1 (zero and zero
// for a contiguous run of one term), type, and length-prefixed data.
func (e *Encoder) appendEntries(b []byte, ents []raft.Entry) ([]byte, error) {
	if len(ents) > e.lim.MaxEntries {
		return b, fmt.Errorf("%w: %d entries, limit %d", ErrTooLarge, len(ents), e.lim.MaxEntries)
	}
	b = binary.AppendUvarint(b, uint64(len(ents)))
	var term, index uint64
	for i := range ents {
		ent := &ents[i]
		et, ok := entryTypeToWire(ent.Type)
		if !ok {
			return b, fmt.Errorf("%w: entry %d has type %s", ErrUnencodable, ent.Index, ent.Type)
		}
		b = binary.AppendVarint(b, int64(ent.Term-term))
		b = binary.AppendVarint(b, int64(ent.Index-(index+1)))
		b = append(b, et)
		b = appendBytes(b, ent.Data)
		term, index = ent.Term, ent.Index
		if len(b) > e.lim.MaxDecompressed {
			return b, fmt.Errorf("%w: entries over MaxDecompressed %d", ErrTooLarge, e.lim.MaxDecompressed)
		}
	}
	return b, nil
}

// appendChunk writes a snapshot chunk: meta (index, term, the four node
// lists), offset, total, checksum (4 bytes little-endian) and data.
func (e *Encoder) appendChunk(b []byte, c *raft.SnapshotChunk) ([]byte, error) {
	b = binary.AppendUvarint(b, c.Meta.Index)
	b = binary.AppendUvarint(b, c.Meta.Term)
	cs := &c.Meta.ConfState
	for _, ids := range [...][]raft.NodeID{cs.Voters, cs.Learners, cs.VotersOutgoing, cs.LearnersNext} {
		if len(ids) > e.lim.MaxNodes {
			return b, fmt.Errorf("%w: node list of %d, limit %d", ErrTooLarge, len(ids), e.lim.MaxNodes)
		}
		b = binary.AppendUvarint(b, uint64(len(ids)))
		for _, id := range ids {
			b = binary.AppendUvarint(b, uint64(id))
		}
	}
	b = binary.AppendUvarint(b, c.Offset)
	b = binary.AppendUvarint(b, c.Total)
	b = binary.LittleEndian.AppendUint32(b, c.Checksum)
	return appendBytes(b, c.Data), nil
}

func appendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
