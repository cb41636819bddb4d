package raft

import (
	"testing"
)

// FuzzStep feeds a member arbitrary messages (any type, sender, term, index,
// entries) and checks after each one that the member did not panic and that
// its local invariants hold: terms and commit never go back, the committed
// prefix never changes, and the log stays well formed.
func FuzzStep(f *testing.F) {
	f.Add([]byte{0, 3, 1, 2, 0, 5, 1, 0, 9, 0, 1, 1})
	f.Add([]byte{3, 2, 1, 0, 0, 3, 1, 0, 2, 0, 2, 1, 1, 3, 1, 0, 7})
	f.Add([]byte{5, 2, 3, 0, 20, 4, 0, 0, 0, 0, 0, 0, 6, 2, 9, 1, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := newCluster(t, 3, nil)
		c.campaign(1)
		c.propose(1, "a")
		c.propose(2, "b")
		target := NodeID(1 + len(data)%3)
		n := c.nodes[target]
		st := c.stores[target]
		// Cut the target off: only fuzzed input reaches it from now on.
		c.isolate(target)

		committed := map[uint64]uint64{} // index → term, for every entry seen committed
		var lastTerm, lastCommit uint64
		check := func(step int) {
			r := n.r
			l := &r.log
			if r.term < lastTerm {
				t.Fatalf("step %d: term went back from %d to %d", step, lastTerm, r.term)
			}
			if l.committed < lastCommit {
				t.Fatalf("step %d: commit went back from %d to %d", step, lastCommit, l.committed)
			}
			if l.committed > l.lastIndex() || l.applied > l.committed || l.stable > l.lastIndex() {
				t.Fatalf("step %d: indexes out of order: %s", step, l.String())
			}
			for i := range l.entries {
				e := &l.entries[i]
				if e.Index != l.snapIndex+1+uint64(i) {
					t.Fatalf("step %d: entry %d has index %d", step, i, e.Index)
				}
				if e.Term > r.term || (i > 0 && e.Term < l.entries[i-1].Term) {
					t.Fatalf("step %d: entry %d has term %d (node term %d)", step, e.Index, e.Term, r.term)
				}
			}
			for i := l.firstIndex(); i <= l.committed; i++ {
				tm, _ := l.term(i)
				if was, ok := committed[i]; ok && was != tm {
					t.Fatalf("step %d: committed entry %d changed term %d → %d", step, i, was, tm)
				}
				committed[i] = tm
			}
			if r.role == Leader && r.lead != r.id {
				t.Fatalf("step %d: leader follows %d", step, r.lead)
			}
			lastTerm, lastCommit = r.term, l.committed
		}
		check(-1)
		for step := 0; len(data) >= 10; step++ {
			b := data[:10]
			data = data[10:]
			m := Message{
				Type:    MessageType(b[0] % (uint8(numMessageTypes) + 2)),
				From:    NodeID(b[1] % 5), // 0 none, 1-3 members, 4 stranger
				To:      target,
				Term:    n.r.term + uint64(b[2]%4) - 1 + uint64(b[2]>>6)*10,
				Index:   uint64(b[3]) % 16,
				LogTerm: uint64(b[4]) % 8,
				Commit:  uint64(b[5]) % 16,
				Reject:  b[6]&1 == 1,
			}
			if b[2]%4 == 0 && n.r.term == 0 {
				m.Term = 0
			}
			m.RejectHint, m.HintTerm = uint64(b[7])%16, uint64(b[8])%6
			for k := range int(b[9] % 4) {
				term := m.LogTerm + uint64(k*int(b[9]>>4&1))
				m.Entries = append(m.Entries, Entry{Index: m.Index + 1 + uint64(k), Term: term, Data: []byte{b[9]}})
			}
			if m.Type == MsgSnap || m.Type == MsgSnapResp {
				total := uint64(b[7]) % 8
				m.Chunk = &SnapshotChunk{
					Meta:   SnapshotMeta{Index: m.Index, Term: m.LogTerm, ConfState: ConfState{Voters: []NodeID{1, 2, 3}}},
					Offset: uint64(b[8]) % 8, Total: total, Data: make([]byte, b[9]%5),
				}
			}
			_ = n.Step(m)
			if step%3 == 0 {
				n.Tick()
			}
			if n.HasReady() {
				rd := n.Ready()
				if err := st.Save(&rd); err != nil {
					t.Fatalf("step %d: host could not persist the Ready: %v", step, err)
				}
				n.Advance()
			}
			check(step)
		}
	})
}
