package filelog

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tabraft/tabraft/peer/record"
	"github.com/tabraft/tabraft/raft"
)

// sampleSegment returns the bytes of a small real segment (entries,
// hard states, a snapshot marker, an overwrite) and of its snapshot file.
func sampleSegment(tb testing.TB) (seg, snap []byte) {
	dir := tb.TempDir()
	l := mustOpen(tb, dir, Options{})
	mustSave(tb, l, raft.Ready{Entries: ents(1, 4, 1), HardState: raft.HardState{Term: 1, Vote: 1, Commit: 3}, MustSync: true})
	if err := l.Compact(raft.Snapshot{Meta: raft.SnapshotMeta{Index: 2, Term: 1, ConfState: raft.ConfState{Voters: []raft.NodeID{1}}}, Data: []byte("x")}); err != nil {
		tb.Fatal(err)
	}
	mustSave(tb, l, raft.Ready{Entries: ents(4, 6, 2), HardState: raft.HardState{Term: 2, Commit: 3}, MustSync: true})
	l.Close()
	var err error
	if seg, err = os.ReadFile(filepath.Join(dir, segmentName(1))); err != nil {
		tb.Fatal(err)
	}
	if snap, err = os.ReadFile(filepath.Join(dir, snapshotName(2))); err != nil {
		tb.Fatal(err)
	}
	return seg, snap
}

// FuzzReplay replays arbitrary bytes as the only (hence final) segment,
// without I/O: it must not panic, and a log it accepts must be well
// formed (entries contiguous after the snapshot).
func FuzzReplay(f *testing.F) {
	seg, _ := sampleSegment(f)
	f.Add(seg)
	f.Add(seg[:len(seg)-3])
	f.Add(seg[:80])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		l := &Log{dir: "fuzz"}
		end, _, err := l.replaySegment(1, data, true, true)
		if err != nil {
			return
		}
		if end < 0 || end > int64(len(data)) || end%record.Align != 0 {
			t.Fatalf("replay ends at %d of %d", end, len(data))
		}
		if _, _, ok := l.st.placeholders(); ok {
			return // Open would refuse
		}
		for i, e := range l.st.ents {
			if e.Index != l.st.snapIndex+1+uint64(i) {
				t.Fatalf("entry #%d has index %d after snapshot %d", i, e.Index, l.st.snapIndex)
			}
		}
	})
}

// FuzzReplayFramed frames arbitrary payloads as records with valid
// checksums (each record: type byte, flags byte, length byte, payload), so
// that the decoders and the replay logic see content past the CRCs.
func FuzzReplayFramed(f *testing.F) {
	hdr := appendSegmentHeader(nil, segmentHeader{seq: 1})
	f.Add(append([]byte{byte(record.TypeSegmentHeader), 1, byte(len(hdr))}, hdr...))
	mark := []byte{2, 1, 1}
	f.Add(slices.Concat([]byte{byte(record.TypeSegmentHeader), 1, byte(len(hdr))}, hdr,
		[]byte{byte(record.TypeSnapshotMark), 1, byte(len(mark))}, mark))
	run := record.AppendEntries(nil, ents(1, 2, 1))
	f.Add(slices.Concat([]byte{byte(record.TypeSegmentHeader), 1, byte(len(hdr))}, hdr,
		[]byte{byte(record.TypeEntries), 0, byte(len(run))}, run,
		[]byte{byte(record.TypeHardState), 1, 3}, []byte{1, 0, 2}))
	f.Fuzz(func(t *testing.T, in []byte) {
		var data []byte
		for len(in) >= 3 {
			typ, flags, n := in[0], in[1]&record.FlagBatchEnd, int(in[2])
			in = in[3:]
			n = min(n, len(in))
			var start int
			data, start = record.Begin(data)
			data = append(data, in[:n]...)
			data = record.Finish(data, start, record.Type(typ%6), flags)
			in = in[n:]
		}
		l := &Log{dir: "fuzz"}
		if _, _, err := l.replaySegment(1, data, true, true); err != nil {
			return
		}
		if _, _, ok := l.st.placeholders(); ok {
			return
		}
		for i, e := range l.st.ents {
			if e.Index != l.st.snapIndex+1+uint64(i) {
				t.Fatalf("entry #%d has index %d after snapshot %d", i, e.Index, l.st.snapIndex)
			}
		}
	})
}

// FuzzSnapshotFile reads arbitrary bytes as a snapshot file: no panic.
func FuzzSnapshotFile(f *testing.F) {
	_, snap := sampleSegment(f)
	f.Add(snap)
	f.Add(snap[:20])
	f.Fuzz(func(t *testing.T, data []byte) {
		if p, err := record.ParseOne(data, record.TypeSnapshot, maxSnapshotRecordLen); err == nil {
			record.DecodeSnapshot(p)
		}
	})
}

// TestOpenArbitraryBytes runs whole Opens (with I/O) on damaged copies of
// a real log: Open either fails or returns a well-formed log.
func TestOpenArbitraryBytes(t *testing.T) {
	seg, snap := sampleSegment(t)
	for _, c := range []struct{ seg, snap []byte }{
		{seg, snap}, {seg[:len(seg)-3], snap}, {seg[:80], nil}, {nil, nil},
		{seg, snap[:len(snap)-1]}, {seg, append(snap[:len(snap):len(snap)], 0)},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, segmentName(1)), c.seg, 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, snapshotName(2)), c.snap, 0o640); err != nil {
			t.Fatal(err)
		}
		l, err := Open(dir, Options{})
		if err != nil {
			continue
		}
		v := viewOf(t, l)
		for i, e := range v.Ents {
			if e.Index != v.Snap.Meta.Index+1+uint64(i) {
				t.Fatalf("entry #%d has index %d after snapshot %d", i, e.Index, v.Snap.Meta.Index)
			}
		}
		l.Close()
	}
}
