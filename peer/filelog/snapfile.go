package filelog

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"

	"github.com/tabraft/tabraft/raft"
)

// writeSnapshotFile writes snap to dir as one record in <index>.snap.tmp,
// fsyncs it, renames it to <index>.snap and fsyncs dir, so that the file
// is either absent or complete under its final name. hook is called
// between the steps (tests inject crashes there).
func writeSnapshotFile(dir string, snap raft.Snapshot, hook func(string) error) error {
	final := filepath.Join(dir, snapshotName(snap.Meta.Index))
	tmp := final + tmpExt
	prefix := snapshotPrefix(snap.Meta, len(snap.Data))
	n := int64(len(prefix) + len(snap.Data))
	if n > maxSnapshotRecordLen {
		return fmt.Errorf("filelog: snapshot of %d bytes is too large", len(snap.Data))
	}
	pad := make([]byte, paddedLen(n)-n)
	sum := crc32.Update(0, castagnoli, prefix)
	sum = crc32.Update(sum, castagnoli, snap.Data)
	sum = crc32.Update(sum, castagnoli, pad)

	var h [recordHeaderSize]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(n))
	h[4] = byte(recSnapshotFile)
	h[5] = flagBatchEnd
	binary.LittleEndian.PutUint32(h[8:], sum)
	binary.LittleEndian.PutUint32(h[12:], checksum(h[:12]))

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
	rec, reason := parseRecord(data, 0, maxSnapshotRecordLen)
	switch {
	case reason != "":
	case rec.typ != recSnapshotFile || !rec.batchEnd():
		reason = fmt.Sprintf("holds a %v record", rec.typ)
	case rec.end != int64(len(data)):
		reason = fmt.Sprintf("%d unexpected bytes after the snapshot", int64(len(data))-rec.end)
	}
	if reason != "" {
		return raft.Snapshot{}, &CorruptError{Path: path, Offset: 0, Reason: reason}
	}
	snap, err := decodeSnapshot(rec.payload)
	if err != nil {
		return raft.Snapshot{}, &CorruptError{Path: path, Offset: recordHeaderSize, Reason: err.Error()}
	}
	return snap, nil
}
