package filelog

import (
	"errors"
	"os"
	"testing"

	"github.com/tabraft/tabraft/peer/storagetest"
)

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
		l := mustOpen(t, dir, opts)
		mb := storagetest.StartMember(t, l)
		mb.Lead()
		if err := mb.Propose(0, 60); err != nil {
			t.Fatal(err)
		}
		committed := len(mb.Applied)
		fire = int(cutBack) // a few batches later
		if err := mb.Propose(60, 100); !errors.Is(err, errCrash) {
			t.Fatalf("propose: %v", err)
		}
		crash(l)
		committed = max(committed, len(mb.Applied))
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

		l = mustOpen(t, dir, Options{SegmentSize: 4096})
		mb = storagetest.StartMember(t, l)
		mb.Lead()
		if len(mb.Applied) < committed {
			t.Fatalf("cut %d: %d commands after restart, %d were applied before the crash", cutBack, len(mb.Applied), committed)
		}
		mb.Check("after the torn save", len(mb.Applied))
		// The member goes on where the log ends.
		n := len(mb.Applied)
		if err := mb.Propose(n, n+10); err != nil {
			t.Fatal(err)
		}
		mb.Check("after the torn save and more proposals", n+10)
		l.Close()
	}
}
