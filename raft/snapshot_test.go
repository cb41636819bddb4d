package raft

import (
	"fmt"
	"slices"
	"testing"
)

// snapCluster is a 3-member cluster whose leader (1) compacted its log
// behind a snapshot of n commands of size bytes each.
func snapCluster(t *testing.T, n, size int) *cluster {
	c := newCluster(t, 3, func(cfg *Config) { cfg.CompactionKeepEntries = 1 })
	c.campaign(1)
	for i := range n {
		cmd := fmt.Sprintf("%0*d", size, i)
		_ = c.nodes[1].Propose([]byte(cmd))
		if i%50 == 0 {
			c.process()
		}
	}
	c.process()
	c.tick(5)
	c.compact(1)
	return c
}

func TestSnapshotCatchesUpNewMemberInChunks(t *testing.T) {
	c := snapCluster(t, 400, 100) // ~40 KB of state: several chunks
	var chunks int
	c.drop = func(m Message) bool {
		if m.Type == MsgSnap {
			chunks++
			if len(m.Chunk.Data) > 16<<10 {
				t.Errorf("chunk of %d bytes exceeds 16 KiB", len(m.Chunk.Data))
			}
		}
		return false
	}
	c.addLearners(1, 4)
	c.tick(10)
	if chunks < 3 {
		t.Fatalf("snapshot sent in %d chunks, want several", chunks)
	}
	if got, want := c.appliedData(4), c.appliedData(1); !slices.Equal(got, want) {
		t.Fatalf("new member has %d commands, leader %d", len(got), len(want))
	}
	// Replication resumes from the snapshot's index.
	c.propose(1, "after")
	c.tick(5)
	if got := c.appliedData(4); got[len(got)-1] != "after" {
		t.Fatalf("new member did not apply a write after the snapshot")
	}
	// The configuration travels in the snapshot.
	if m := c.nodes[4].Members(); !slices.Equal(m.Voters, []NodeID{1, 2, 3}) || !slices.Equal(m.Learners, []NodeID{4}) {
		t.Fatalf("new member's configuration %+v", m)
	}
	c.restart(4)
	c.process()
	if got, want := c.appliedData(4), c.appliedData(1); !slices.Equal(got, want) {
		t.Fatalf("after restart the new member has %d commands, leader %d", len(got), len(want))
	}
}

func TestSnapshotResumesAfterLostChunk(t *testing.T) {
	c := snapCluster(t, 400, 100)
	var offsets []uint64
	dropped := false
	c.drop = func(m Message) bool {
		if m.Type != MsgSnap {
			return false
		}
		offsets = append(offsets, m.Chunk.Offset)
		if !dropped && m.Chunk.Offset > 0 {
			dropped = true
			return true
		}
		return false
	}
	c.addLearners(1, 4)
	c.tick(20)
	if got, want := c.appliedData(4), c.appliedData(1); !slices.Equal(got, want) {
		t.Fatalf("transfer did not complete after a lost chunk: %d of %d commands", len(got), len(want))
	}
	for i, off := range offsets[1:] {
		if off == 0 {
			t.Fatalf("transfer restarted from offset 0 (sends: %v, at %d)", offsets, i+1)
		}
	}
}

func TestHalfReceivedSnapshotNeverApplied(t *testing.T) {
	c := snapCluster(t, 400, 100)
	sent := 0
	c.drop = func(m Message) bool {
		if m.Type == MsgSnap {
			sent++
			return sent > 2 // the link dies after two chunks
		}
		return false
	}
	c.addLearners(1, 4)
	c.tick(3)
	if st, _ := c.stores[4].Snapshot(); !st.IsEmpty() || len(c.appliedData(4)) != 0 {
		t.Fatalf("a partial snapshot was installed or applied")
	}
	c.drop = nil
	c.tick(20)
	if got, want := c.appliedData(4), c.appliedData(1); !slices.Equal(got, want) {
		t.Fatalf("after the link healed: %d of %d commands", len(got), len(want))
	}
}

func TestCorruptSnapshotDiscarded(t *testing.T) {
	c := snapCluster(t, 50, 10)
	corrupted := false
	c.drop = func(m Message) bool {
		if m.Type == MsgSnap && !corrupted && len(m.Chunk.Data) > 0 {
			corrupted = true
			bad := slices.Clone(m.Chunk.Data)
			bad[0] ^= 0xff
			m.Chunk.Data = bad // same chunk object: the copy in flight is damaged
		}
		return false
	}
	c.addLearners(1, 4)
	c.tick(30)
	if got, want := c.appliedData(4), c.appliedData(1); !slices.Equal(got, want) {
		t.Fatalf("after a corrupt transfer: %d of %d commands (want a clean retry)", len(got), len(want))
	}
}

func TestCompactionPolicy(t *testing.T) {
	c := newCluster(t, 1, func(cfg *Config) { cfg.SnapshotEntries = 10 })
	c.campaign(1)
	c.compact(1)
	for i := range 9 {
		c.propose(1, fmt.Sprint(i))
	}
	if c.nodes[1].ShouldCompact() {
		t.Fatalf("policy fired early (applied %d)", c.nodes[1].Status().Applied)
	}
	c.propose(1, "x")
	if !c.nodes[1].ShouldCompact() {
		t.Fatalf("policy did not fire after 10+ entries")
	}
	c.compact(1)
	if c.nodes[1].ShouldCompact() {
		t.Fatalf("policy fires right after a snapshot")
	}
}

func TestLaggingFollowerCatchesUpFromLogTail(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.CompactionKeepEntries = 100 })
	c.campaign(1)
	c.isolate(3)
	for i := range 20 {
		c.propose(1, fmt.Sprint(i))
	}
	c.compact(1)
	c.heal()
	snaps := 0
	c.drop = func(m Message) bool {
		if m.Type == MsgSnap {
			snaps++
		}
		return false
	}
	c.tick(10)
	if snaps != 0 {
		t.Fatalf("follower within the kept tail got a snapshot (%d chunks)", snaps)
	}
	if got, want := c.appliedData(3), c.appliedData(1); !slices.Equal(got, want) {
		t.Fatalf("lagging follower has %d of %d", len(got), len(want))
	}
}
