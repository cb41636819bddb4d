package filelog

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/tabraft/tabraft/peer/record"
	"github.com/tabraft/tabraft/raft"
)

// snapshotFits reports whether snap fits in a snapshot file's record.
func snapshotFits(snap raft.Snapshot) bool {
	n := len(record.AppendSnapshotPrefix(nil, snap.Meta, len(snap.Data)))
	return int64(n)+int64(len(snap.Data)) <= maxSnapshotRecordLen
}

// writeSnapshotFile writes snap to dir as one record in <index>.snap.tmp,
// fsyncs it, renames it to <index>.snap and fsyncs dir, so that the file
// is either absent or complete under its final name. hook is called
// between the steps (tests inject crashes there).
func writeSnapshotFile(dir string, snap raft.Snapshot, hook func(string) error) error {
	final := filepath.Join(dir, snapshotName(snap.Meta.Index))
	tmp := final + tmpExt
	prefix := record.AppendSnapshotPrefix(nil, snap.Meta, len(snap.Data))
	n := int64(len(prefix) + len(snap.Data))
	if n > maxSnapshotRecordLen {
		return fmt.Errorf("filelog: snapshot of %d bytes is too large", len(snap.Data))
	}
	// The data is written from where it is, not copied into a record.
	pad := make([]byte, record.PaddedLen(n)-n)
	sum := record.UpdateChecksum(0, prefix)
	sum = record.UpdateChecksum(sum, snap.Data)
	sum = record.UpdateChecksum(sum, pad)
	h := record.Header(record.TypeSnapshot, record.FlagBatchEnd, n, sum)

	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("filelog: creating snapshot file: %w", err)
	}
	for _, b := range [][]byte{append(h[:], prefix...), snap.Data, pad} {
		if _, err := f.Write(b); err != nil {
			f.Close()
			return fmt.Errorf("filelog: writing %s: %w", tmp, err)
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("filelog: syncing %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("filelog: closing %s: %w", tmp, err)
	}
	if hook != nil {
		if err := hook("snapshot-temp-written"); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("filelog: installing snapshot file: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	if hook != nil {
		return hook("snapshot-renamed")
	}
	return nil
}

// readSnapshotFile reads and verifies a snapshot file.
func readSnapshotFile(path string) (raft.Snapshot, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return raft.Snapshot{}, fmt.Errorf("filelog: reading snapshot: %w", err)
	}
	p, err := record.ParseOne(data, record.TypeSnapshot, maxSnapshotRecordLen)
	if err != nil {
		return raft.Snapshot{}, &CorruptError{Path: path, Offset: 0, Reason: err.Error()}
	}
	snap, err := record.DecodeSnapshot(p)
	if err != nil {
		return raft.Snapshot{}, &CorruptError{Path: path, Offset: record.HeaderSize, Reason: err.Error()}
	}
	return snap, nil
}
