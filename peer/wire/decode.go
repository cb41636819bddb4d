package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/klauspost/compress/zstd"

	"github.com/tabraft/tabraft/raft"
)

// Decoder reassembles and decodes the fragments of one connection. It holds
// a zstd decoder and the message being reassembled: create one per
// connection, and Reset it (or make a new one) when the connection is
// re-established. A Decoder is not safe for concurrent use: feed it from the
// goroutine that receives, in arrival order.
//
// Every rejected input is counted in Stats and returned as an error wrapping
// one of the reason errors (ErrMalformed, ErrUnknownVersion, ...). After an
// error the Decoder is in a clean state and the connection may carry on;
// whether to reset it instead is the caller's policy. The Decoder never
// panics on input, and the memory it holds is bounded by
// Limits.MaxMessageSize for reassembly plus Limits.MaxDecompressed while a
// payload is decompressed.
type Decoder struct {
	lim   Limits
	stats *Stats
	zdec  *zstd.Decoder

	// The message being reassembled.
	active      bool
	id          uint32
	next, count uint16
	version     byte
	buf         []byte

	// Later fragments of a message already rejected are skipped quietly.
	skipping bool
	skipID   uint32
}

// NewDecoder returns a Decoder with the given options.
func NewDecoder(opts Options) (*Decoder, error) {
	lim := opts.Limits.withDefaults()
	zdec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxMemory(uint64(lim.MaxDecompressed)),
		zstd.WithDecoderMaxWindow(uint64(max(lim.MaxDecompressed, zstd.MinWindowSize))),
		// DecodeAll writes no more than the capacity of the buffer it is
		// given, which is sized to the declared length.
		zstd.WithDecodeAllCapLimit(true),
	)
	if err != nil {
		return nil, fmt.Errorf("wire: new zstd decoder: %w", err)
	}
	d := &Decoder{lim: lim, stats: opts.Stats, zdec: zdec}
	if d.stats == nil {
		d.stats = new(Stats)
	}
	return d, nil
}

// Stats returns the counters the Decoder updates.
func (d *Decoder) Stats() *Stats { return d.stats }

// Close releases the decompressor. The Decoder must not be used afterwards.
func (d *Decoder) Close() { d.zdec.Close() }

// Reset discards any partially reassembled message (counted in
// PartialsDiscarded), as after a reconnect.
func (d *Decoder) Reset() {
	d.dropPartial()
	d.skipping = false
}

// Pending returns the bytes held for a message being reassembled.
func (d *Decoder) Pending() int { return len(d.buf) }

func (d *Decoder) dropPartial() {
	if d.active {
		d.stats.partialsDiscarded.Add(1)
	}
	d.active, d.buf = false, nil
}

// reject counts a rejection and wraps err (which must wrap a reason error).
func (d *Decoder) reject(r Reason, format string, args ...any) error {
	d.stats.rejected[r].Add(1)
	return fmt.Errorf("wire: "+format+": %w", append(args, r.Err())...)
}

// rejectErr counts err under the reason it wraps.
func (d *Decoder) rejectErr(err error) error {
	r, ok := ReasonOf(err)
	if !ok {
		r = ReasonMalformed
		err = fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	d.stats.rejected[r].Add(1)
	return fmt.Errorf("wire: %w", err)
}

// Feed takes one received fragment. It returns ok and the message when the
// fragment completes one; (zero, false, nil) when more fragments are needed
// or the fragment belongs to a message already rejected; and an error when
// the fragment is rejected. The returned message shares no memory with
// frag or with the Decoder.
func (d *Decoder) Feed(frag []byte) (raft.Message, bool, error) {
	d.stats.fragmentsReceived.Add(1)
	d.stats.wireBytesReceived.Add(uint64(len(frag)))
	if len(frag) < singleHeaderLen {
		return raft.Message{}, false, d.reject(ReasonMalformed, "fragment of %d bytes", len(frag))
	}
	version := frag[0]
	if version < VersionMin || version > Version {
		return raft.Message{}, false, d.reject(ReasonVersion, "version %d, want %d to %d", version, VersionMin, Version)
	}
	flags := frag[1]
	if flags&^knownFlags != 0 {
		return raft.Message{}, false, d.reject(ReasonMalformed, "unknown fragment flags %#x", flags)
	}
	if len(frag) > MaxFragmentSize {
		return raft.Message{}, false, d.reject(ReasonTooLarge, "fragment of %d bytes, limit %d", len(frag), MaxFragmentSize)
	}
	if flags&flagSplit == 0 {
		d.Reset()
		if limit := d.lim.maxBody(); len(frag)-singleHeaderLen > limit {
			return raft.Message{}, false, d.reject(ReasonTooLarge, "message of %d bytes, limit %d", len(frag)-singleHeaderLen, limit)
		}
		return d.decode(frag[singleHeaderLen:], false, version)
	}
	if len(frag) < multiHeaderLen {
		return raft.Message{}, false, d.reject(ReasonMalformed, "split fragment of %d bytes", len(frag))
	}
	id := binary.BigEndian.Uint32(frag[2:])
	index := binary.BigEndian.Uint16(frag[6:])
	count := binary.BigEndian.Uint16(frag[8:])
	part := frag[multiHeaderLen:]
	if count < 2 || index >= count {
		d.Reset()
		return raft.Message{}, false, d.reject(ReasonMalformed, "message %d: fragment %d of %d", id, index, count)
	}
	last := index == count-1
	if index == 0 {
		d.Reset()
		if int(count) > d.lim.MaxFragments {
			d.skip(id)
			return raft.Message{}, false, d.reject(ReasonTooLarge, "message %d: %d fragments, limit %d", id, count, d.lim.MaxFragments)
		}
		d.active, d.id, d.next, d.count, d.version = true, id, 1, count, version
		// Grow with the data received rather than trust count up front.
		d.buf = append(make([]byte, 0, 2*len(part)), part...)
		return raft.Message{}, false, nil
	}
	if d.skipping && id == d.skipID {
		d.stats.fragmentsSkipped.Add(1)
		if last {
			d.skipping = false
		}
		return raft.Message{}, false, nil
	}
	if !d.active || id != d.id || index != d.next || count != d.count || version != d.version {
		want := "no message in progress"
		if d.active {
			want = fmt.Sprintf("want message %d fragment %d of %d", d.id, d.next, d.count)
		}
		d.Reset()
		if !last {
			d.skip(id)
		}
		return raft.Message{}, false, d.reject(ReasonSequence, "message %d fragment %d of %d, %s", id, index, count, want)
	}
	if limit := d.lim.maxBody(); len(d.buf)+len(part) > limit {
		d.Reset()
		if !last {
			d.skip(id)
		}
		return raft.Message{}, false, d.reject(ReasonTooLarge, "message %d: over %d bytes", id, limit)
	}
	d.buf = append(d.buf, part...)
	d.next++
	if !last {
		return raft.Message{}, false, nil
	}
	body := d.buf
	d.active, d.buf = false, nil
	return d.decode(body, true, d.version)
}

func (d *Decoder) skip(id uint32) { d.skipping, d.skipID = true, id }

// decode decodes a whole message body. owned tells whether body is the
// Decoder's to hand out (byte fields may alias it) or the caller's (they are
// copied).
func (d *Decoder) decode(body []byte, owned bool, version byte) (raft.Message, bool, error) {
	m, raw, err := d.decodeBody(body, owned, version)
	if err != nil {
		return raft.Message{}, false, d.rejectErr(err)
	}
	d.stats.messagesReceived.Add(1)
	d.stats.rawBytesReceived.Add(uint64(raw))
	return m, true, nil
}

// decodeBody parses a body; raw is its size with the payload decompressed.
func (d *Decoder) decodeBody(body []byte, owned bool, version byte) (m raft.Message, raw int, err error) {
	r := reader{b: body, owned: owned}
	wt := r.byte("type")
	mask := r.uvarint("field mask")
	if r.err != nil {
		return m, 0, r.err
	}
	t, ok := typeFromWire(wt)
	if !ok {
		return m, 0, fmt.Errorf("%w: wire type %d", ErrUnknownType, wt)
	}
	known := knownFields
	if version == 1 {
		known = knownFieldsV1
	}
	if mask&^known != 0 {
		return m, 0, fmt.Errorf("%w: unknown field bits %#x", ErrMalformed, mask&^known)
	}
	m.Type = t
	field := func(bit uint64, name string) uint64 {
		if mask&bit == 0 {
			return 0
		}
		return r.uvarint(name)
	}
	m.From = raft.NodeID(field(fFrom, "from"))
	m.To = raft.NodeID(field(fTo, "to"))
	m.Term = field(fTerm, "term")
	m.LogTerm = field(fLogTerm, "log term")
	m.Index = field(fIndex, "index")
	m.Commit = field(fCommit, "commit")
	m.Reject = mask&fReject != 0
	m.RejectHint = field(fRejectHint, "reject hint")
	m.HintTerm = field(fHintTerm, "hint term")
	m.Cluster = field(fCluster, "cluster")
	if mask&fContext != 0 {
		m.Context = r.bytes("context")
	}
	raw = len(body)
	if mask&(fEntries|fChunk) != 0 {
		codec := r.byte("payload codec")
		if r.err != nil {
			return m, 0, r.err
		}
		var p reader
		switch codec {
		case payloadRaw:
			p = reader{b: r.rest(), owned: owned}
		case payloadZstd:
			n := r.uvarint("payload length")
			if r.err != nil {
				return m, 0, r.err
			}
			data := r.rest()
			out, err := d.decompress(data, n)
			if err != nil {
				return m, 0, err
			}
			p = reader{b: out, owned: true}
			raw += len(out) - len(data) - uvarintLen(n)
		default:
			return m, 0, fmt.Errorf("%w: payload codec %d", ErrMalformed, codec)
		}
		if mask&fEntries != 0 {
			m.Entries, err = d.readEntries(&p)
			if err != nil {
				return m, 0, err
			}
		}
		if mask&fChunk != 0 {
			m.Chunk, err = d.readChunk(&p)
			if err != nil {
				return m, 0, err
			}
		}
		if err := p.end("payload"); err != nil {
			return m, 0, err
		}
	}
	if err := r.end("message"); err != nil {
		return m, 0, err
	}
	return m, raw, nil
}

// decompress inflates a zstd payload that declares n bytes, never producing
// more than n or than Limits.MaxDecompressed.
func (d *Decoder) decompress(data []byte, n uint64) ([]byte, error) {
	if n > uint64(d.lim.MaxDecompressed) {
		return nil, fmt.Errorf("%w: declares %d bytes, limit %d", ErrDecompressedTooLarge, n, d.lim.MaxDecompressed)
	}
	// Check the frame header before allocating for it: the encoder always
	// records the content size, and it must agree with the declared one.
	var h zstd.Header
	if err := h.Decode(data); err != nil {
		return nil, fmt.Errorf("%w: zstd header: %w", ErrCorrupt, err)
	}
	if h.HasFCS && h.FrameContentSize > n {
		return nil, fmt.Errorf("%w: zstd frame holds %d bytes, %d declared", ErrDecompressedTooLarge, h.FrameContentSize, n)
	}
	if h.Skippable || !h.HasFCS || h.FrameContentSize != n || h.DictionaryID != 0 {
		return nil, fmt.Errorf("%w: zstd frame (content size %d known=%v, skippable=%v, dict=%d) does not match declared length %d",
			ErrCorrupt, h.FrameContentSize, h.HasFCS, h.Skippable, h.DictionaryID, n)
	}
	out, err := d.zdec.DecodeAll(data, make([]byte, 0, n))
	switch {
	case errors.Is(err, zstd.ErrDecoderSizeExceeded), errors.Is(err, zstd.ErrWindowSizeExceeded):
		return nil, fmt.Errorf("%w: %w", ErrDecompressedTooLarge, err)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	case uint64(len(out)) != n:
		return nil, fmt.Errorf("%w: %d bytes decompressed, %d declared", ErrCorrupt, len(out), n)
	}
	return out, nil
}

// minEntrySize is the fewest bytes an encoded entry takes (term delta, index
// delta, type, data length): a count above remaining/minEntrySize is a lie
// and is rejected before anything is allocated for it.
const minEntrySize = 4

func (d *Decoder) readEntries(r *reader) ([]raft.Entry, error) {
	n := r.uvarint("entry count")
	if r.err != nil {
		return nil, r.err
	}
	if n > uint64(d.lim.MaxEntries) {
		return nil, fmt.Errorf("%w: %d entries, limit %d", ErrTooLarge, n, d.lim.MaxEntries)
	}
	if n > uint64(r.remaining()/minEntrySize) {
		return nil, fmt.Errorf("%w: %d entries in %d bytes", ErrMalformed, n, r.remaining())
	}
	if n == 0 {
		return nil, nil
	}
	ents := make([]raft.Entry, n)
	var term, index uint64
	for i := range ents {
		e := &ents[i]
		e.Term = term + uint64(r.varint("entry term"))
		e.Index = index + 1 + uint64(r.varint("entry index"))
		wt := r.byte("entry type")
		e.Data = r.bytes("entry data")
		if r.err != nil {
			return nil, fmt.Errorf("entry %d of %d: %w", i, n, r.err)
		}
		var ok bool
		if e.Type, ok = entryTypeFromWire(wt); !ok {
			return nil, fmt.Errorf("%w: entry type %d", ErrUnknownType, wt)
		}
		term, index = e.Term, e.Index
	}
	return ents, nil
}

func (d *Decoder) readChunk(r *reader) (*raft.SnapshotChunk, error) {
	c := &raft.SnapshotChunk{}
	c.Meta.Index = r.uvarint("snapshot index")
	c.Meta.Term = r.uvarint("snapshot term")
	cs := &c.Meta.ConfState
	for _, ids := range [...]*[]raft.NodeID{&cs.Voters, &cs.Learners, &cs.VotersOutgoing, &cs.LearnersNext} {
		n := r.uvarint("node count")
		if r.err != nil {
			return nil, r.err
		}
		if n > uint64(d.lim.MaxNodes) {
			return nil, fmt.Errorf("%w: node list of %d, limit %d", ErrTooLarge, n, d.lim.MaxNodes)
		}
		if n > uint64(r.remaining()) {
			return nil, fmt.Errorf("%w: %d nodes in %d bytes", ErrMalformed, n, r.remaining())
		}
		if n == 0 {
			continue
		}
		*ids = make([]raft.NodeID, n)
		for i := range *ids {
			(*ids)[i] = raft.NodeID(r.uvarint("node id"))
		}
	}
	c.Offset = r.uvarint("chunk offset")
	c.Total = r.uvarint("chunk total")
	if sum := r.take(4, "checksum"); sum != nil {
		c.Checksum = binary.LittleEndian.Uint32(sum)
	}
	c.Data = r.bytes("chunk data")
	if r.err != nil {
		return nil, r.err
	}
	return c, nil
}

// reader walks a buffer; the first failure sticks in err (wrapping
// ErrMalformed) and later reads return zero values.
type reader struct {
	b     []byte
	off   int
	owned bool // byte fields may alias b
	err   error
}

func (r *reader) remaining() int { return len(r.b) - r.off }

func (r *reader) fail(what string, format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at offset %d: %s", ErrMalformed, what, r.off, fmt.Sprintf(format, args...))
	}
}

func (r *reader) byte(what string) byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.b) {
		r.fail(what, "truncated")
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *reader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail(what, "bad varint")
		return 0
	}
	r.off += n
	return v
}

func (r *reader) varint(what string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		r.fail(what, "bad varint")
		return 0
	}
	r.off += n
	return v
}

// take returns the next n bytes, aliasing b, or nil after a failure.
func (r *reader) take(n uint64, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(r.remaining()) || n > math.MaxInt {
		r.fail(what, "%d bytes wanted, %d left", n, r.remaining())
		return nil
	}
	p := r.b[r.off : r.off+int(n) : r.off+int(n)]
	r.off += int(n)
	return p
}

// bytes reads a length-prefixed byte string: nil when empty, else aliasing
// b if owned, else a copy.
func (r *reader) bytes(what string) []byte {
	n := r.uvarint(what) // (no concatenation: it would allocate per field)
	p := r.take(n, what)
	if len(p) == 0 {
		return nil
	}
	if !r.owned {
		p = append([]byte(nil), p...)
	}
	return p
}

// rest returns everything left, aliasing b.
func (r *reader) rest() []byte {
	if r.err != nil {
		return nil
	}
	p := r.b[r.off:len(r.b):len(r.b)]
	r.off = len(r.b)
	return p
}

// end reports a sticky failure or trailing bytes.
func (r *reader) end(what string) error {
	if r.err != nil {
		return r.err
	}
	if r.off != len(r.b) {
		return fmt.Errorf("%w: %d trailing bytes after %s", ErrMalformed, len(r.b)-r.off, what)
	}
	return nil
}
