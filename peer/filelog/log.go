package filelog

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/tabraft/tabraft/peer/record"
	"github.com/tabraft/tabraft/raft"
)

// DefaultSegmentSize is the segment size used when Options.SegmentSize is 0.
const DefaultSegmentSize = 64 << 20

// Options configures a Log. The zero value is ready to use.
type Options struct {
	// SegmentSize is the size after which the next Save starts a new
	// segment file. Default DefaultSegmentSize. A batch is never split
	// across segments, so a segment can exceed it by one batch.
	SegmentSize int64
	// SyncAlways makes every Save fsync, even one that only moves the
	// commit index (which Raft does not need durable). Use it when the
	// state machine is durable and must never be ahead of the stored
	// commit index after a crash.
	SyncAlways bool

	// hook, if set, is called at named points of a write; an error stops
	// the write there as a crash would (tests only).
	hook func(point string) error
}

// ErrClosed is returned by writes to a closed Log.
var ErrClosed = errors.New("filelog: log is closed")

// ErrUnsupportedFormat is matched (errors.Is) by the error of Open on a
// log written in another format version (by another build of tabraft).
var ErrUnsupportedFormat = errors.New("filelog: unsupported log format")

// ErrCorrupt is matched (errors.Is) by every *CorruptError.
var ErrCorrupt = errors.New("filelog: corrupt log")

// CorruptError reports damage that recovery must not repair by itself:
// acknowledged data would be lost, or corrupt data applied.
type CorruptError struct {
	Path   string // the damaged file (or the directory)
	Offset int64  // byte offset of the damage in Path, -1 if not about one place
	Reason string
}

func (e *CorruptError) Error() string {
	if e.Offset < 0 {
		return fmt.Sprintf("filelog: corrupt log: %s: %s", e.Path, e.Reason)
	}
	return fmt.Sprintf("filelog: corrupt log: %s at offset %d: %s", e.Path, e.Offset, e.Reason)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

const (
	segmentExt = ".seg"
	snapExt    = ".snap"
	tmpExt     = ".tmp"
	lockName   = "LOCK"
)

// Log is a crash-safe raft.Storage in a directory. It is safe for
// concurrent use. After a write fails (I/O error) every later write fails
// too: what reached the disk is unknown, so reopen the directory.
type Log struct {
	mu   sync.Mutex
	dir  string
	opts Options
	lock *os.File // nil where locking is not supported

	f        *os.File // active segment, open for appending
	seq      uint64   // active segment's sequence number
	size     int64    // bytes in the active segment
	segEmpty bool     // the active segment holds only its header
	segments []uint64 // segment sequence numbers on disk, ascending (active last)
	snaps    []uint64 // snapshot file indexes on disk, ascending

	st   logState
	snap raft.Snapshot
	buf  []byte

	err    error // sticky write failure
	closed bool
}

var _ raft.Storage = (*Log)(nil)

func segmentName(seq uint64) string  { return fmt.Sprintf("%016x%s", seq, segmentExt) }
func snapshotName(idx uint64) string { return fmt.Sprintf("%016x%s", idx, snapExt) }

// parseName recognizes a 16-hex-digit name with the given extension.
func parseName(name, ext string) (uint64, bool) {
	stem, ok := strings.CutSuffix(name, ext)
	if !ok || len(stem) != 16 {
		return 0, false
	}
	n, err := strconv.ParseUint(stem, 16, 64)
	return n, err == nil
}

// Open opens the log in dir, creating dir and an empty log if needed, and
// recovers it (see the package documentation): a torn write at the end is
// truncated away; any other damage fails with a *CorruptError.
func Open(dir string, opts Options) (*Log, error) {
	if opts.SegmentSize < 0 {
		return nil, fmt.Errorf("filelog: negative segment size %d", opts.SegmentSize)
	}
	if opts.SegmentSize == 0 {
		opts.SegmentSize = DefaultSegmentSize
	}
	if err := makeDir(dir); err != nil {
		return nil, err
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	l := &Log{dir: dir, opts: opts, lock: lock}
	if err := l.recover(); err != nil {
		if l.f != nil {
			l.f.Close()
		}
		if lock != nil {
			lock.Close()
		}
		return nil, err
	}
	return l, nil
}

func (l *Log) path(name string) string { return filepath.Join(l.dir, name) }

func (l *Log) corrupt(name string, off int64, format string, args ...any) error {
	return &CorruptError{Path: l.path(name), Offset: off, Reason: fmt.Sprintf(format, args...)}
}

// listDir returns the segment sequence numbers and snapshot indexes found
// in the directory (ascending) and the names of temporary snapshot files.
func (l *Log) listDir() (segs, snaps []uint64, tmps []string, err error) {
	dirents, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("filelog: listing %s: %w", l.dir, err)
	}
	for _, de := range dirents {
		name := de.Name()
		if !de.Type().IsRegular() {
			continue
		}
		if seq, ok := parseName(name, segmentExt); ok {
			segs = append(segs, seq)
		} else if idx, ok := parseName(name, snapExt); ok {
			snaps = append(snaps, idx)
		} else if strings.HasSuffix(name, snapExt+tmpExt) {
			tmps = append(tmps, name)
		}
	}
	slices.Sort(segs)
	slices.Sort(snaps)
	return segs, snaps, tmps, nil
}

// recover reads the directory and rebuilds the state; see the package
// documentation for the rules.
func (l *Log) recover() error {
	segs, snaps, tmps, err := l.listDir()
	if err != nil {
		return err
	}
	// Replay the longest run of consecutive segments ending at the newest;
	// anything older was being deleted (the placeholder check below proves
	// it held nothing live).
	first := len(segs) - 1
	for first > 0 && segs[first-1] == segs[first]-1 {
		first--
	}
	var stale []uint64
	if first > 0 {
		stale = segs[:first]
		segs = segs[first:]
	}

	var activeLen int64
	var activeBatches int
	for i := 0; i < len(segs); i++ {
		seq := segs[i]
		name := segmentName(seq)
		final := i == len(segs)-1
		data, err := os.ReadFile(l.path(name))
		if err != nil {
			return fmt.Errorf("filelog: reading %s: %w", l.path(name), err)
		}
		end, batches, err := l.replaySegment(seq, data, i == 0, final)
		if err != nil {
			return err
		}
		if batches == 0 {
			// Only the last segment can lack its header: its creation was
			// interrupted before the header was durable.
			if !final {
				return l.corrupt(name, 0, "segment has no header")
			}
			if i == 0 && (seq != 1 || len(stale) > 0 || len(snaps) > 0) {
				return l.corrupt(name, 0, "the only segment has no header, and older files exist")
			}
			if err := os.Remove(l.path(name)); err != nil {
				return fmt.Errorf("filelog: removing headerless segment: %w", err)
			}
			if err := syncDir(l.dir); err != nil {
				return err
			}
			segs = segs[:i]
			break
		}
		activeLen, activeBatches = end, batches
	}
	if len(segs) == 0 {
		return l.createFirst(stale)
	}

	if from, to, ok := l.st.placeholders(); ok {
		return l.corrupt(segmentName(segs[0]), -1,
			"entries %d to %d are not in any segment on disk (a segment is missing)", from, to)
	}
	if l.st.snapIndex > 0 {
		name := snapshotName(l.st.snapIndex)
		if !slices.Contains(snaps, l.st.snapIndex) {
			return l.corrupt(name, -1, "the log starts from snapshot %d, whose file is missing", l.st.snapIndex)
		}
		snap, err := readSnapshotFile(l.path(name))
		if err != nil {
			return err
		}
		if snap.Meta.Index != l.st.snapIndex || snap.Meta.Term != l.st.snapTerm {
			return l.corrupt(name, -1, "snapshot file holds %d/%d, the log expects %d/%d",
				snap.Meta.Index, snap.Meta.Term, l.st.snapIndex, l.st.snapTerm)
		}
		l.snap = snap
	}

	l.segments = segs
	l.snaps = snaps
	if err := l.openActive(segs[len(segs)-1], activeLen); err != nil {
		return err
	}
	l.segEmpty = activeBatches == 1

	// Leftovers: temporary files, snapshots nobody refers to, segments
	// being deleted. Removing them is not needed for correctness.
	for _, name := range tmps {
		os.Remove(l.path(name))
	}
	for _, seq := range stale {
		os.Remove(l.path(segmentName(seq)))
	}
	l.removeObsolete()
	return nil
}

// openActive opens segment seq for appending at size, first cutting off
// (durably) whatever follows size: a torn tail.
func (l *Log) openActive(seq uint64, size int64) error {
	f, err := os.OpenFile(l.path(segmentName(seq)), os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("filelog: opening segment: %w", err)
	}
	l.f, l.seq = f, seq
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("filelog: stat %s: %w", f.Name(), err)
	}
	if fi.Size() != size {
		if err := f.Truncate(size); err != nil {
			return fmt.Errorf("filelog: truncating torn tail of %s at %d: %w", f.Name(), size, err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("filelog: syncing %s: %w", f.Name(), err)
		}
	}
	if _, err := f.Seek(size, io.SeekStart); err != nil {
		return fmt.Errorf("filelog: seeking %s: %w", f.Name(), err)
	}
	l.size = size
	return nil
}

// replaySegment replays the complete batches of segment seq (data), and
// returns where they end and how many there are. Damage fails with a
// *CorruptError, except a torn tail of the final segment, which is left
// out (end stops before it).
func (l *Log) replaySegment(seq uint64, data []byte, first, final bool) (end int64, batches int, err error) {
	name := segmentName(seq)
	sc := scanSegment(data)
	end = int64(len(data))
	switch {
	case !final && sc.badOff >= 0:
		return 0, 0, l.corrupt(name, sc.badOff, "%v (in a segment that is not the last)", sc.badErr)
	case !final && sc.goodEnd != end:
		return 0, 0, l.corrupt(name, sc.goodEnd, "segment that is not the last ends inside a batch")
	case final && sc.badOff >= 0:
		if v := findValidRecord(data, sc.resumeOff); v >= 0 {
			return 0, 0, l.corrupt(name, sc.badOff, "%v, and a valid record follows at offset %d: not a torn write", sc.badErr, v)
		}
		end = sc.goodEnd
	case final:
		end = sc.goodEnd
	}
	for bi, batch := range sc.batches {
		if err := l.replayBatch(name, seq, first, bi == 0, batch); err != nil {
			return 0, 0, err
		}
	}
	return end, len(sc.batches), nil
}

// replayBatch decodes and applies one batch of segment seq.
func (l *Log) replayBatch(name string, seq uint64, firstSegment, firstBatch bool, batch []fileRecord) error {
	ops := make([]op, 0, len(batch))
	for i := range batch {
		o, err := decodeOp(&batch[i])
		if v, ok := isVersion(err); ok && firstBatch {
			return fmt.Errorf("%w: %s is in format version %d, this build reads version %d (move the directory away to start afresh)",
				ErrUnsupportedFormat, l.path(name), uint64(v), formatVersion)
		}
		if err != nil {
			return l.corrupt(name, batch[i].off, "%v", err)
		}
		ops = append(ops, o)
	}
	if isHeader := len(ops) == 1 && ops[0].typ == record.TypeSegmentHeader; isHeader != firstBatch {
		return l.corrupt(name, batch[0].off, "segment header misplaced")
	}
	if firstBatch && ops[0].seg.seq != seq {
		return l.corrupt(name, batch[0].off, "segment header says sequence %d", ops[0].seg.seq)
	}
	if firstBatch && firstSegment {
		if err := l.st.start(ops[0].seg); err != nil {
			return l.corrupt(name, batch[0].off, "%v", err)
		}
		return nil
	}
	for i := range ops {
		if err := l.st.apply(&ops[i], seq); err != nil {
			return l.corrupt(name, batch[0].off, "%v", err)
		}
	}
	return nil
}

// createFirst starts an empty log with segment 1 (stale: segments that
// precede a headerless first one are impossible, see recover).
func (l *Log) createFirst(stale []uint64) error {
	if len(stale) > 0 {
		return l.corrupt(segmentName(stale[len(stale)-1]), -1, "unexpected older segment")
	}
	l.st = logState{}
	if err := l.createSegment(1); err != nil {
		return err
	}
	l.segments = []uint64{1}
	return nil
}

// createSegment creates segment seq, makes its header durable, and makes
// it the active segment (the caller closes the previous one).
func (l *Log) createSegment(seq uint64) error {
	path := l.path(segmentName(seq))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("filelog: creating segment: %w", err)
	}
	buf := appendBatch(l.buf[:0], []op{{typ: record.TypeSegmentHeader, seg: l.st.header(seq)}})
	if _, err := f.Write(buf); err != nil {
		f.Close()
		return fmt.Errorf("filelog: writing header of %s: %w", path, err)
	}
	if err := l.hook("segment-written"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("filelog: syncing %s: %w", path, err)
	}
	if err := syncDir(l.dir); err != nil {
		f.Close()
		return err
	}
	l.f, l.seq, l.size, l.segEmpty = f, seq, int64(len(buf)), true
	return nil
}

// rotate makes the active segment durable and starts the next one.
func (l *Log) rotate() error {
	old := l.f
	if err := old.Sync(); err != nil {
		return fmt.Errorf("filelog: syncing %s: %w", old.Name(), err)
	}
	if err := l.createSegment(l.seq + 1); err != nil {
		return err
	}
	l.segments = append(l.segments, l.seq)
	if err := old.Close(); err != nil {
		return fmt.Errorf("filelog: closing %s: %w", old.Name(), err)
	}
	return nil
}

func (l *Log) hook(point string) error {
	if l.opts.hook != nil {
		return l.opts.hook(point)
	}
	return nil
}

// usable reports why the Log cannot be written, if it cannot.
func (l *Log) usable() error {
	if l.closed {
		return ErrClosed
	}
	if l.err != nil {
		return fmt.Errorf("filelog: log unusable after an earlier write failure: %w", l.err)
	}
	return nil
}

// fail makes err sticky and returns it.
func (l *Log) fail(err error) error {
	l.err = err
	return err
}

// InitialState implements raft.Storage.
func (l *Log) InitialState() (raft.HardState, raft.ConfState, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st.hard, l.snap.Meta.ConfState, nil
}

// Snapshot implements raft.Storage.
func (l *Log) Snapshot() (raft.Snapshot, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.snap, nil
}

// Entries implements raft.Storage.
func (l *Log) Entries() ([]raft.Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.st.ents), nil
}

// LastIndex returns the index of the last stored entry (or of the snapshot).
func (l *Log) LastIndex() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st.lastIndex()
}

// Save persists what a Ready asks to persist — its snapshot, its entries
// (dropping stored entries from Entries[0].Index on) and its hard state —
// with the semantics of raft.MemoryStorage.Save. It returns once the batch
// is durable if rd.MustSync (or it holds entries, a snapshot, a new term
// or vote, or Options.SyncAlways). An invalid Ready (a snapshot not newer
// than the stored one, entries leaving a gap) is refused before anything
// is written.
func (l *Log) Save(rd *raft.Ready) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return err
	}
	ops, sync, err := l.prepare(rd)
	if err != nil || len(ops) == 0 {
		return err
	}
	hasSnap := ops[0].typ == record.TypeSnapshotMark
	if hasSnap {
		if err := l.writeSnapshot(rd.Snapshot); err != nil {
			return l.fail(err)
		}
	}
	if err := l.write(ops, sync); err != nil {
		return l.fail(err)
	}
	if err := l.applyOps(ops); err != nil {
		return l.fail(err)
	}
	if hasSnap {
		l.snap = rd.Snapshot
		l.removeObsolete()
	}
	return nil
}

// prepare validates rd and turns it into the batch to write.
func (l *Log) prepare(rd *raft.Ready) (ops []op, sync bool, err error) {
	snapIndex, last := l.st.snapIndex, l.st.lastIndex()
	sync = rd.MustSync || l.opts.SyncAlways
	if !rd.Snapshot.IsEmpty() {
		m := rd.Snapshot.Meta
		if m.Index <= snapIndex {
			return nil, false, fmt.Errorf("filelog: save: snapshot at %d is not newer than %d", m.Index, snapIndex)
		}
		if !snapshotFits(rd.Snapshot) {
			return nil, false, fmt.Errorf("filelog: save: snapshot of %d bytes is too large", len(rd.Snapshot.Data))
		}
		t, ok := l.st.term(m.Index)
		keep := ok && t == m.Term
		ops = append(ops, op{typ: record.TypeSnapshotMark, mark: snapshotMark{index: m.Index, term: m.Term, keep: keep}})
		snapIndex = m.Index
		if !keep {
			last = m.Index
		}
		sync = true
	}
	ents := rd.Entries
	for i := 1; i < len(ents); i++ {
		if ents[i].Index != ents[i-1].Index+1 {
			return nil, false, fmt.Errorf("filelog: save: entry %d follows entry %d", ents[i].Index, ents[i-1].Index)
		}
	}
	if len(ents) > 0 && ents[0].Index <= snapIndex {
		skip := snapIndex + 1 - ents[0].Index
		if skip >= uint64(len(ents)) {
			ents = nil
		} else {
			ents = ents[skip:]
		}
	}
	if len(ents) > 0 {
		if ents[0].Index > last+1 {
			return nil, false, fmt.Errorf("filelog: save: entry %d leaves a gap after %d", ents[0].Index, last)
		}
		for i := range ents {
			if len(ents[i].Data) > maxRecordLen-record.EntriesPrefixMax-record.EntryOverheadMax {
				return nil, false, fmt.Errorf("filelog: save: entry %d of %d bytes is too large", ents[i].Index, len(ents[i].Data))
			}
		}
		ops = append(ops, op{typ: record.TypeEntries, ents: ents})
		sync = true
	}
	if hs := rd.HardState; !hs.IsEmpty() && hs != l.st.hard {
		if hs.Term != l.st.hard.Term || hs.Vote != l.st.hard.Vote {
			sync = true
		}
		ops = append(ops, op{typ: record.TypeHardState, hard: hs})
	}
	return ops, sync, nil
}

// write appends ops as one batch to the active segment (rotating first if
// it is full) and fsyncs if sync.
func (l *Log) write(ops []op, sync bool) error {
	if l.size >= l.opts.SegmentSize && !l.segEmpty {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	buf := appendBatch(l.buf[:0], ops)
	if cap(buf) <= 4<<20 {
		l.buf = buf
	}
	if _, err := l.f.Write(buf); err != nil {
		return fmt.Errorf("filelog: writing %s: %w", l.f.Name(), err)
	}
	l.size += int64(len(buf))
	l.segEmpty = false
	if err := l.hook("batch-written"); err != nil {
		return err
	}
	if sync {
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("filelog: syncing %s: %w", l.f.Name(), err)
		}
	}
	return l.hook("batch-synced")
}

func (l *Log) applyOps(ops []op) error {
	for i := range ops {
		if err := l.st.apply(&ops[i], l.seq); err != nil {
			return fmt.Errorf("filelog: internal error applying a validated batch: %w", err)
		}
	}
	return nil
}

// Compact records snap, a snapshot of the state machine at snap.Meta.Index
// (as returned by raft.Node.Compact), and discards the entries up to that
// index. A snapshot not newer than the stored one is ignored; one beyond
// the last stored entry, or whose term disagrees with the stored entry at
// its index, is refused. The snapshot is durable when Compact returns.
func (l *Log) Compact(snap raft.Snapshot) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return err
	}
	idx := snap.Meta.Index
	if idx <= l.st.snapIndex {
		return nil
	}
	if last := l.st.lastIndex(); idx > last {
		return fmt.Errorf("filelog: compact at %d beyond the last index %d", idx, last)
	}
	if t, _ := l.st.term(idx); t != snap.Meta.Term {
		return fmt.Errorf("filelog: compact at %d with term %d, but the stored entry has term %d", idx, snap.Meta.Term, t)
	}
	if !snapshotFits(snap) {
		return fmt.Errorf("filelog: compact: snapshot of %d bytes is too large", len(snap.Data))
	}
	ops := []op{{typ: record.TypeSnapshotMark, mark: snapshotMark{index: idx, term: snap.Meta.Term, keep: true}}}
	if err := l.writeSnapshot(snap); err != nil {
		return l.fail(err)
	}
	if err := l.write(ops, true); err != nil {
		return l.fail(err)
	}
	if err := l.applyOps(ops); err != nil {
		return l.fail(err)
	}
	l.snap = snap
	l.removeObsolete()
	return nil
}

// writeSnapshot makes snap durable as a snapshot file (not yet referenced
// by the log).
func (l *Log) writeSnapshot(snap raft.Snapshot) error {
	if err := writeSnapshotFile(l.dir, snap, l.hook); err != nil {
		return err
	}
	if !slices.Contains(l.snaps, snap.Meta.Index) {
		l.snaps = append(l.snaps, snap.Meta.Index)
		slices.Sort(l.snaps)
	}
	return nil
}

// removeObsolete deletes, oldest first, the segments that hold no live
// entry and the snapshot files other than the current one. Failures are
// left for a later call (or the next Open) to retry: the files are
// harmless, recovery ignores them.
func (l *Log) removeObsolete() {
	need := l.st.firstNeededSegment(l.seq)
	n := 0
	for n < len(l.segments) && l.segments[n] < need {
		if err := os.Remove(l.path(segmentName(l.segments[n]))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			break
		}
		n++
	}
	l.segments = slices.Delete(l.segments, 0, n)
	l.snaps = slices.DeleteFunc(l.snaps, func(idx uint64) bool {
		if idx == l.st.snapIndex {
			return false
		}
		err := os.Remove(l.path(snapshotName(idx)))
		return err == nil || errors.Is(err, fs.ErrNotExist)
	})
}

// Close makes everything written durable and releases the directory.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	var errs []error
	if l.err == nil {
		if err := l.f.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("filelog: syncing %s: %w", l.f.Name(), err))
		}
	}
	if err := l.f.Close(); err != nil {
		errs = append(errs, fmt.Errorf("filelog: closing %s: %w", l.f.Name(), err))
	}
	if l.lock != nil {
		if err := l.lock.Close(); err != nil {
			errs = append(errs, fmt.Errorf("filelog: releasing lock: %w", err))
		}
	}
	return errors.Join(errs...)
}

// makeDir creates dir and its missing ancestors, durably: each created
// directory's entry in its parent is fsynced, or a crash could take the
// whole log, acknowledged writes included, with it.
func makeDir(dir string) error {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("filelog: %w", err)
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("filelog: creating %s: %w", dir, err)
	}
	for _, d := range slices.Backward(missing) {
		if err := syncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}

// syncDir makes the directory's entries (created, renamed files) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("filelog: opening directory %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("filelog: syncing directory %s: %w", dir, err)
	}
	return nil
}
