// Package idbstore is the peer.Storage of browser members: the Raft log,
// hard state and snapshot of a tab, kept in the origin's IndexedDB (built
// with GOOS=js only; this file is all other platforms see).
//
// A Store is opened with Open, handed to peer.Config as its Storage, and
// given every Ready (Store.Save) before the Ready's messages are sent, and
// every snapshot the core's Compact returns (Store.Compact). It keeps a
// copy of what IndexedDB holds in memory (a raft.MemoryStorage), loaded by
// Open, from which every read is served; writes go through to IndexedDB.
//
// # Databases
//
// The tabs of a site share its IndexedDB, so every member has a database
// of its own, named "tabraft/" followed by the store name: Name(room, id)
// gives "<room>/<member id in hex>". Delete removes one. A database has
// two object stores:
//
//	meta   "format" → 2 (a number); "hard" → hard state record;
//	       "snapshot" → snapshot record
//	log    first index (a number) → entries record: consecutive entries
//
// # Writes
//
// Each Save (but one that only moves the commit index, see below) and
// each Compact is one readwrite transaction over both object stores, and
// returns once the transaction has completed: IndexedDB makes it atomic,
// so after a crash of the tab or the browser the store holds the state
// after some prefix of the writes, never half of one. A Save's
// entries go into one record per about 48 KiB (one put for a typical
// Ready rather than one per entry: ten times the throughput at 256
// entries); overwriting entries (a new leader truncating a conflicting
// suffix) deletes the records from the one holding the first overwritten
// entry on and rewrites that one's surviving prefix with the new entries.
// Compaction deletes the records wholly covered by the snapshot; the one
// straddling it stays until a later compaction covers it, and the entries
// it holds up to the snapshot are skipped when loading. Installing a
// snapshot the log does not agree with clears the log.
//
// Durability: a transaction that carries entries, a snapshot, a new term
// or vote (or a Ready with MustSync) asks for "strict" durability, which
// makes the browser flush to disk before reporting completion.
//
// A Save that only moves the commit index opens no transaction: the new
// hard state is kept in memory and goes into the next transaction (of a
// Save, a Compact, Flush or Close). A transaction costs about a
// millisecond whatever it holds, and Raft does not need the commit index
// durable. A tab that is closed or crashes before the next write leaves
// an older commit index behind; started again, the member learns the rest
// from the leader (or, alone, commits its whole log again once elected),
// and peer.Node rebuilds the state machine from the snapshot and the log
// committed as far as the core knows. peer/filelog writes such a change
// without fsync, which a crash of the process does not lose but a power
// cut may.
//
// # Records
//
// Every value is a Uint8Array holding one record in package record's
// format — the same records peer/filelog writes in its files: a 16-byte
// header (length, type, flags, checksums; the batch-end flag always set)
// and the payload, padded to 8 bytes. IndexedDB already delimits values
// and writes a transaction atomically, so the length and padding are not
// needed here; they cost 16 to 23 bytes a value and give both stores one
// codec. The "format" key says which format the values are in: version 1,
// the first builds', had no such key and records of their own (a kind
// byte, the payload, a CRC-32C); Open refuses a store holding version 1
// data with ErrUnsupportedFormat (delete it: no release carried it), and
// takes over an empty one, recording the format with its first write.
//
// Log indexes are IndexedDB number keys, exact up to 2^53-1; a Save
// beyond that is refused.
//
// # Loading
//
// Open reads everything in one read-only transaction and checks it: a
// value that is not a Uint8Array, a record that fails its checksum or
// does not decode, an entries record whose key is not its first index,
// a gap or overlap between records, or a log that does not reach back to
// the snapshot fails with a *CorruptError naming the store and the record.
// Nothing is repaired or dropped silently.
package idbstore
