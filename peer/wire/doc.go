// Package wire is tabraft's wire codec: a versioned binary encoding of every
// raft.Message that travels between members, with compressed payloads, split
// into fragments of at most 16 KiB (the message size every WebRTC data
// channel delivers whole).
//
// An Encoder turns a message into fragments for DataChannel.Send; a Decoder,
// one per connection, is fed the received fragments in arrival order and
// hands back whole messages:
//
//	frags, err := enc.Encode(m)          // sender
//	for _, f := range frags { dc.Send(f) }
//
//	m, ok, err := dec.Feed(data)         // receiver, for each message received
//
// Anything malformed, oversized, of an unknown version or type, or a
// decompression bomb is rejected with an error wrapping one of the reason
// errors (ErrMalformed, ErrUnknownVersion, ErrUnknownType, ErrTooLarge,
// ErrDecompressedTooLarge, ErrCorrupt, ErrSequence) and counted in Stats.
// The Decoder is left in a clean state: the connection can carry on, or the
// caller may reset it. No input makes the package panic (FuzzDecode), and
// the memory a Decoder holds is bounded by its Limits.
//
// Fragments must be fed in the order they were sent, as a reliable ordered
// data channel delivers them: a transport feeds one connection's Decoder
// from one goroutine (peer/rtc reads a detached channel natively, and a
// queue filled in event order in the browser). Fragments fed out of order
// are rejected with ErrSequence, never silently misassembled.
//
// # Format, version 2
//
// Every fragment starts with the version byte (2) and a flags byte. A
// message whose body fits in one fragment travels as
//
//	version  flags=0  body
//
// A longer body is split into parts of 16374 bytes (the last one shorter),
// each sent as
//
//	version  flags=1  id(4)  index(2)  count(2)  part
//
// with big-endian id, index and count, 2 ≤ count ≤ 65535. The id numbers
// the sender's messages; the fragments of one message are sent consecutively.
// The receiver starts a message at index 0 (or at a single-fragment message),
// discarding any message still incomplete (a reset or reconnect cut it
// short), and accepts only the next index of the same id and count after it.
// The bytes held for reassembly never exceed Limits.MaxMessageSize.
//
// The body is
//
//	type(1)  fields(uvarint)  [values...]  [codec(1)  payload]
//
// where type is a number from a fixed table (MsgProp=1 … MsgReadIndexResp=15;
// local types such as MsgHup have none and are refused by the Encoder), and
// fields is a bit set saying which values follow, in this order: From, To,
// Term, LogTerm, Index, Commit, Reject (the bit alone), RejectHint, HintTerm
// (each a uvarint), Context (uvarint length and bytes), Entries, Chunk,
// Cluster (bit 12; a uvarint, written after HintTerm and before Context). Zero
// values are left out, so a heartbeat is 10 bytes on the wire (18 with a
// cluster id, which takes up to 8 bytes: ids are below 2^53). If Entries or
// Chunk is present, the codec byte and the payload follow, up to the end of
// the body: codec 0 is the payload as is; codec 1 is the payload's length
// (uvarint) and one zstd frame whose header records that same length.
//
// The payload holds the entries (a count, then for each entry its term and
// index as zigzag varint deltas from the previous entry's term and index+1,
// its type byte, and its data with a uvarint length), then the snapshot chunk
// (meta index and term, the four node lists of its configuration, offset,
// total, a 4-byte little-endian checksum, and the data). Bytes fields that
// are empty decode as nil, and an empty Entries as nil; a present Chunk stays
// non-nil. Unknown flag or field bits, unknown codecs, type numbers missing
// from the tables and trailing bytes are errors: a format change takes a new
// version.
//
// Version 1 is version 2 without the Cluster field (its bit is unknown
// there). The Decoder reads both, a version 1 message as one of cluster 0
// (which raft accepts from any cluster, for compatibility); the fragments of
// one split message must share their version. The Encoder writes version 2
// only, which a version 1 Decoder rejects: members of both builds cannot
// talk (tabs of one page load the same build).
//
// # Compression
//
// A payload of at least 256 bytes (Options.CompressThreshold) is compressed
// with zstd at SpeedFastest, and sent raw if that does not make it smaller.
// Below 256 bytes zstd's frame overhead eats most of the gain. Payloads over
// 4 KiB are compressed without entropy coding of the literals (matches
// only: a standard zstd frame, which every decoder reads): large payloads
// come when a cluster is busy, and there Huffman coding costs a tab more
// CPU than its bytes are worth. In Chromium 156 (wasm, scripts/jstest.sh
// -bench=Encode|Decode) a MsgApp of 128 board writes of 128 bytes with
// random values (BenchmarkEncode's random-msgapp-128, cmd/tabraft-bench's
// workload) encodes in 118 µs instead of 242 and decodes in 45 µs instead
// of 110, for 69% of its raw size on the wire instead of 55% (raw: 23 and
// 19 µs). On the demo workload it costs 15.5% of the operations' bytes
// overall instead of 13%; batches of up to about 50 operations are not
// affected. The Decoder
// checks the declared length against Limits.MaxDecompressed before anything
// is allocated, checks the zstd frame header agrees with it, and decompresses
// into a buffer of exactly that capacity with the zstd decoder capped there
// too: a payload that expands further is stopped within one 128 KiB block
// and rejected with ErrDecompressedTooLarge.
//
// The choice of zstd over s2 was measured on MsgApp payloads of the demo's
// board operations (small JSON objects such as
// {"op":"set","key":"px:12:34","val":"#ff7700","client":"tab-3f2a","seq":123},
// about 85 bytes each), 10 to 500 per message; BenchmarkCodecs reproduces
// it. Ratio is compressed/raw. Times are for one 100-operation payload
// (8.2 KB), natively and compiled to wasm under Node 20 as in a tab, on a
// shared 2-core AMD EPYC: the fastest of 300 interleaved samples, since the
// machine was loaded.
//
//	                   ratio, by operations per MsgApp   100 ops, µs: compress / decompress
//	                   10      100     500               native       wasm
//	zstd SpeedFastest  0.303   0.133   0.110             15 / 5.6     42 / 31
//	zstd SpeedDefault  0.300   0.138   0.110             18 / 5.9     50 / 35
//	s2 Encode          0.353   0.205   0.167             3.4 / 1.5    14 / 7.9
//	s2 EncodeBetter    0.361   0.169   0.144             7.0 / 1.4    28 / 7.3
//
// (In MB/s of raw data at 100 operations: zstd SpeedFastest 550 / 1450
// native and 195 / 260 in wasm; s2 2360 / 5460 native and 570 / 1030 in
// wasm. s2's pure-Go encoder, used in wasm, makes slightly different output:
// ratios 0.371, 0.198, 0.167.)
//
// zstd sends 14–35% fewer bytes than s2 and 16–24% fewer than s2's better
// mode, and with batches of 10 s2 would miss the target of 35% of raw once
// framing is added. s2 is three to five times faster, but the demo moves a
// few kilobytes per second, where zstd costs a tab tens of microseconds per
// message: bytes on a tab's uplink matter more than that CPU. SpeedDefault
// compresses no better than SpeedFastest here and is slower. On the demo
// workload (TestDemoCompressionTarget) a whole MsgApp, headers included, is
// 13% of its operations' bytes overall, 34% on average for batches of only
// 10 (single ones range from 26% to 42%), and at most 28% from 25 up.
package wire
