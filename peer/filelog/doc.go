// Package filelog is the crash-safe, on-disk raft.Storage of native
// tabraft members: an append-only log of checksummed records in segment
// files, plus snapshot files, in one directory.
//
// A Log is opened with Open, handed to raft.NewNode as its Storage, and
// then given every Ready (Log.Save) before the Ready's messages are sent,
// and every snapshot the core's Compact returns (Log.Compact).
//
// # Directory
//
//	LOCK                    advisory lock (flock) held while the Log is open (unix only)
//	0000000000000001.seg    log segments, numbered by a sequence number (hex)
//	0000000000000002.seg
//	00000000000003e8.snap   snapshot covering the log up to index 0x3e8
//	*.snap.tmp              a snapshot being written (never read; removed by Open)
//
// Any other file is ignored.
//
// # Records
//
// Segments and snapshot files are sequences of records in package
// record's format (wasm/idbstore stores the same records): a 16-byte
// header (payload length, type, flags, a CRC-32C of the payload and one of
// the header) followed by the payload, zero-padded to a multiple of 8
// bytes so that every record starts at an 8-byte aligned offset. The
// header checksum makes the length field trustworthy before it is used,
// so a corrupt length never causes a large allocation; a length is also
// never believed beyond the end of the file.
//
// Records are grouped in batches: one Save or Compact writes exactly one
// batch, whose last record carries the batch-end flag, with a single
// write(2). Recovery applies a batch only when all of its records are
// intact, so each Save is atomic: after a crash the log is in the state
// after some prefix of the Saves, never in between (a torn batch could
// otherwise leave entries of a new term behind an old term, or a commit
// index pointing at entries that were never written).
//
// Entries, hard state and snapshot file records hold package record's
// payloads. The two payloads of this package's own (unsigned varints):
//
//	segment header   format version (=2), sequence, snapshot index,
//	                 snapshot term, last index, hard state (term, vote, commit, cluster if not 0)
//	snapshot marker  index, term, keep (1 byte; 1: keep the entries after
//	                 index; 0: drop every entry after index)
//
// Format version 1, written by the first builds, had fixed-width
// payloads; Open refuses such a log with ErrUnsupportedFormat (no
// release carried it, so there is no converter).
//
// Every segment begins with a header batch that summarizes the state when
// the segment was created: the snapshot then in force, the last log index
// and the hard state. Replay starts from the first segment on disk; the
// entries its header says exist but whose records lived in deleted
// segments are placeholders which later records must overwrite or compact
// away. A placeholder left at the end means a needed segment is missing,
// and Open fails.
//
// # Writing
//
// Save(rd) first validates rd completely (nothing is written for an
// invalid Ready), then:
//
//  1. if rd.Snapshot is set: writes the snapshot file as <index>.snap.tmp,
//     fsyncs it, renames it to <index>.snap and fsyncs the directory;
//  2. if the active segment has reached Options.SegmentSize: fsyncs it,
//     creates the next segment with its header, fsyncs that file and the
//     directory;
//  3. writes the batch: snapshot marker, entries (an entry at or below the
//     last index implicitly truncates the log there), hard state;
//  4. fsyncs the segment when rd.MustSync, or when the batch holds
//     entries, a snapshot marker, or a new term or vote, or when
//     Options.SyncAlways (only a commit-index change is left unsynced:
//     losing it is harmless to Raft);
//  5. once the marker is durable, deletes older snapshot files and the
//     segments that hold no live entry.
//
// Compact writes the snapshot file (1), a batch with only a keep-marker
// (3, always fsynced), and deletes what the snapshot covers (5).
//
// # Why a crash at any point is safe
//
//   - During 1: the snapshot exists only as a .tmp file, or as a complete
//     <index>.snap that no durable marker names. Open removes both: the
//     log is the one before the Save, which was never acknowledged.
//   - During 2: the new segment is missing, empty or has a torn header
//     (the old one was already fsynced). Open deletes a last segment
//     without a complete header and continues the previous one.
//   - During 3 and 4: the tail of the last segment holds a prefix of the
//     batch, possibly ending in a partial record, garbage or zeros. Such a
//     tail fails its checksums or lacks the batch-end flag, so Open
//     truncates the segment to the end of the last complete batch and
//     fsyncs it: the log is the one before the Save. If the batch was
//     complete on disk, the log is the one after it; either is correct
//     because the Save had not returned (messages of that Ready were not
//     sent).
//   - During 5: files are deleted oldest first, but an unsynced directory
//     may keep any subset. Open replays only the longest run of
//     consecutively numbered segments ending at the newest, and deletes
//     the rest; the placeholder check proves the deleted ones held nothing
//     live. Snapshot files other than the one the log names are deleted.
//
// Nothing acknowledged is lost: a Save that must be durable returns only
// after its fsync, and everything an fsynced batch depends on (its
// snapshot file, its segment's directory entry, the directory itself when
// Open created it) was made durable before it. (A commit-only Save that
// was not synced may be lost; the next fsync covers it.)
//
// # Recovery rules
//
// A record that fails its checksums (or is cut short) at the end of the
// last segment, with no valid record anywhere after it, is a torn write
// and is truncated away. Anything else — a bad record followed by a valid
// one, any damage in a segment that is not the last, a segment header
// that disagrees with the segments before it, a missing snapshot file —
// makes Open fail with a *CorruptError naming the file and offset: data
// that was acknowledged is never dropped silently, and corrupt data is
// never returned. Two consequences of not knowing what the disk did:
//
//   - A bit flip inside the last record of the last batch looks exactly
//     like a torn write, and that batch is dropped.
//   - If a crash left later pages of an unsynced tail on disk but not
//     earlier ones (the kernel may write back dirty pages in any order),
//     a damaged record is followed by valid ones and Open refuses, though
//     nothing acknowledged was lost. The error names the file and offset;
//     truncating the segment there by hand is then the repair. Open errs
//     on this side deliberately: a valid record after a bad one may also
//     be an acknowledged batch behind real corruption.
//
// # Limits
//
// An entry holds at most about 1 GiB of data and a snapshot less than
// 4 GiB. The Log keeps the live entries (those after the snapshot) in
// memory, as raft.MemoryStorage does, and Open reads each segment whole.
// The directory lock uses flock(2) and exists only on unix systems.
package filelog
