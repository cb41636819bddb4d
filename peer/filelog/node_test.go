package filelog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/tabraft/tabraft/raft"
)

// member is a single-member cluster on a Log, with a state machine that
// records the commands it applies.
type member struct {
	t       *testing.T
	log     *Log
	node    *raft.Node
	applied [][]byte // the state machine: every command, in order
}

func startMember(t *testing.T, dir string, opts Options) *member {
	t.Helper()
	l := mustOpen(t, dir, opts)
	mb := &member{t: t, log: l}
	snap, err := l.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Data) > 0 {
		mb.applied = bytes.Split(snap.Data, []byte{'\n'})
	}
	mb.node, err = raft.NewNode(&raft.Config{
		ID: 1, Voters: []raft.NodeID{1}, Storage: l,
		SnapshotEntries: 25, CompactionKeepEntries: 5,
	})
	if err != nil {
		t.Fatalf("NewNode: %v", err)
	}
	return mb
}

// drive handles Readys until there are none: persist, apply, advance, and
// compact when the core asks. It stops at the first Save error.
func (mb *member) drive() error {
	for mb.node.HasReady() {
		rd := mb.node.Ready()
		if err := mb.log.Save(&rd); err != nil {
			return err
		}
		for _, e := range rd.CommittedEntries {
			if e.Type == raft.EntryNormal && len(e.Data) > 0 {
				mb.applied = append(mb.applied, e.Data)
			}
		}
		mb.node.Advance()
		if mb.node.ShouldCompact() {
			snap, err := mb.node.Compact(bytes.Join(mb.applied, []byte{'\n'}))
			if err != nil {
				mb.t.Fatalf("Node.Compact: %v", err)
			}
			if err := mb.log.Compact(snap); err != nil {
				return err
			}
		}
	}
	return nil
}

func (mb *member) lead() {
	mb.t.Helper()
	if err := mb.node.Campaign(); err != nil {
		mb.t.Fatal(err)
	}
	if err := mb.drive(); err != nil {
		mb.t.Fatal(err)
	}
	if st := mb.node.Status(); st.Role != raft.Leader {
		mb.t.Fatalf("single member is %v after campaigning", st.Role)
	}
}

// propose submits commands from..to-1 and drives them to commit.
func (mb *member) propose(from, to int) error {
	for i := from; i < to; i++ {
		if err := mb.node.Propose(fmt.Appendf(nil, "cmd %d", i)); err != nil {
			mb.t.Fatal(err)
		}
		if err := mb.drive(); err != nil {
			return err
		}
	}
	return nil
}

func (mb *member) check(what string, n int) {
	mb.t.Helper()
	if len(mb.applied) != n {
		mb.t.Fatalf("%s: %d commands applied, want %d", what, len(mb.applied), n)
	}
	for i, c := range mb.applied {
		if want := fmt.Sprintf("cmd %d", i); string(c) != want {
			mb.t.Fatalf("%s: command #%d is %q, want %q", what, i, c, want)
		}
	}
}

// TestNodeRestart drives a real raft.Node on a Log, restarts it from the
// directory (after a clean close, then after a crash) and checks that
// every committed command comes back.
func TestNodeRestart(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentSize: 2048}
	mb := startMember(t, dir, opts)
	mb.lead()
	if err := mb.propose(0, 90); err != nil {
		t.Fatal(err)
	}
	mb.check("first run", 90)
	if err := mb.log.Close(); err != nil {
		t.Fatal(err)
	}
	if snap, _ := mb.log.Snapshot(); snap.IsEmpty() {
		t.Fatal("no snapshot was taken")
	}

	mb = startMember(t, dir, opts)
	mb.lead() // commits the log again, handing out what follows the snapshot
	mb.check("after restart", 90)
	if err := mb.propose(90, 130); err != nil {
		t.Fatal(err)
	}
	crash(mb.log)

	mb = startMember(t, dir, opts)
	mb.lead()
	mb.check("after crash", 130)
	mb.log.Close()
	if n := len(segmentsIn(t, dir)); n > 3 {
		t.Fatalf("%d segments left after compactions", n)
	}
}

// TestNodeCrashMidSave crashes a Save in the middle of its write (the
// batch torn on disk) and restarts: everything committed before is there.
func TestNodeCrashMidSave(t *testing.T) {
	for cutBack := range int64(4) {
		dir := t.TempDir()
		fire := -1
		opts := Options{SegmentSize: 4096, hook: func(p string) error {
			if p == "batch-written" {
				if fire == 0 {
					return errCrash
				}
				fire--
			}
			return nil
		}}
		mb := startMember(t, dir, opts)
		mb.lead()
		if err := mb.propose(0, 60); err != nil {
			t.Fatal(err)
		}
		committed := len(mb.applied)
		fire = int(cutBack) // a few batches later
		if err := mb.propose(60, 100); !errors.Is(err, errCrash) {
			t.Fatalf("propose: %v", err)
		}
		crash(mb.log)
		committed = max(committed, len(mb.applied))
		// Tear the unacknowledged batch: keep a part of it.
		seg := lastSegment(t, dir)
		data, err := os.ReadFile(seg)
		if err != nil {
			t.Fatal(err)
		}
		sc := scanSegment(data)
		lastBatch := sc.batches[len(sc.batches)-1]
		cut := lastBatch[0].off + (int64(len(data))-lastBatch[0].off)*cutBack/4
		if err := os.Truncate(seg, cut); err != nil {
			t.Fatal(err)
		}

		mb = startMember(t, dir, Options{SegmentSize: 4096})
		mb.lead()
		if len(mb.applied) < committed {
			t.Fatalf("cut %d: %d commands after restart, %d were applied before the crash", cutBack, len(mb.applied), committed)
		}
		mb.check("after the torn save", len(mb.applied))
		// The member goes on where the log ends.
		n := len(mb.applied)
		if err := mb.propose(n, n+10); err != nil {
			t.Fatal(err)
		}
		mb.check("after the torn save and more proposals", n+10)
		mb.log.Close()
	}
}
