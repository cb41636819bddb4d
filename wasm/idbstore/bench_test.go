//go:build js && wasm

package idbstore

import (
	"context"
	"fmt"
	"testing"

	"github.com/tabraft/tabraft/raft"
)

// BenchmarkSave measures Save throughput: Readys of 1, 16 and 256 entries
// of 128 bytes with a hard state, as a leader persists its proposals.
// Variants: the store as shipped (strict durability, entries batched into
// records of up to 48 KiB), relaxed durability, and one record per entry.
// Run it in the browser: scripts/jstest.sh -run='^$' -bench=Save ./wasm/idbstore
func BenchmarkSave(b *testing.B) {
	for _, variant := range []struct {
		name    string
		relaxed bool
		maxRun  int
	}{
		{"strict", false, runBytes},
		{"relaxed", true, runBytes},
		{"strict-record-per-entry", false, 1},
	} {
		for _, n := range []int{1, 16, 256} {
			b.Run(fmt.Sprintf("%s/entries=%d", variant.name, n), func(b *testing.B) {
				name := testName(b)
				s := mustOpen(b, name)
				defer s.Close()
				s.relaxed, s.maxRun = variant.relaxed, variant.maxRun
				data := make([]byte, 128)
				for i := range data {
					data[i] = byte(i * 7)
				}
				es := make([]raft.Entry, n)
				next := uint64(1)
				b.SetBytes(int64(n * len(data)))
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					for i := range es {
						es[i] = raft.Entry{Index: next + uint64(i), Term: 1, Data: data}
					}
					next += uint64(n)
					rd := raft.Ready{Entries: es, HardState: raft.HardState{Term: 1, Vote: 1, Commit: next - 1}, MustSync: true}
					if err := s.Save(&rd); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "entries/s")
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/save")
			})
		}
	}
}

// BenchmarkOpen measures loading a store of 10,000 entries of 128 bytes
// (saved 16 per Ready, so in 625 records).
func BenchmarkOpen(b *testing.B) {
	name := testName(b)
	s := mustOpen(b, name)
	data := make([]byte, 128)
	for i := uint64(0); i < 10000; i += 16 {
		es := make([]raft.Entry, 16)
		for j := range es {
			es[j] = raft.Entry{Index: i + uint64(j) + 1, Term: 1, Data: data}
		}
		mustSave(b, s, raft.Ready{Entries: es, HardState: raft.HardState{Term: 1, Commit: i}})
	}
	mustClose(b, s)
	b.ResetTimer()
	for b.Loop() {
		s, err := Open(context.Background(), name)
		if err != nil {
			b.Fatal(err)
		}
		if s.LastIndex() != 10000 {
			b.Fatalf("last index %d", s.LastIndex())
		}
		s.Close()
	}
}

// commitModes are the ways a Save that only moves the commit index is
// handled: deferred to the next write (as shipped), or written at once in
// a relaxed transaction of its own (eager, as before).
var commitModes = []struct {
	name  string
	eager bool
}{{"deferred", false}, {"eager", true}}

// benchStore opens a store for a benchmark (closed when it ends).
func benchStore(b *testing.B, eager bool) *Store {
	s := mustOpen(b, testName(b))
	b.Cleanup(func() { s.Close() })
	s.eager = eager
	return s
}

// BenchmarkSaveCommitOnly measures a Ready that only moves the commit
// index (MustSync false), as a leader saves when followers acknowledge.
func BenchmarkSaveCommitOnly(b *testing.B) {
	for _, mode := range commitModes {
		b.Run(mode.name, func(b *testing.B) {
			s := benchStore(b, mode.eager)
			mustSave(b, s, raft.Ready{Entries: ents(1, 2, 1), HardState: raft.HardState{Term: 1, Vote: 1}, MustSync: true})
			var commit uint64
			for b.Loop() {
				commit++
				rd := raft.Ready{HardState: raft.HardState{Term: 1, Vote: 1, Commit: 1 + commit%2}}
				if err := s.Save(&rd); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/save")
		})
	}
}

// BenchmarkLeaderCycle measures what a busy leader saves per round: a
// Ready of 16 new entries (strict), then one that only commits them.
func BenchmarkLeaderCycle(b *testing.B) {
	for _, mode := range commitModes {
		b.Run(mode.name, func(b *testing.B) {
			s := benchStore(b, mode.eager)
			data := make([]byte, 128)
			es := make([]raft.Entry, 16)
			next := uint64(1)
			for b.Loop() {
				for i := range es {
					es[i] = raft.Entry{Index: next + uint64(i), Term: 1, Data: data}
				}
				next += uint64(len(es))
				rd := raft.Ready{Entries: es, HardState: raft.HardState{Term: 1, Vote: 1, Commit: next - 17}, MustSync: true}
				if err := s.Save(&rd); err != nil {
					b.Fatal(err)
				}
				rd = raft.Ready{HardState: raft.HardState{Term: 1, Vote: 1, Commit: next - 1}}
				if err := s.Save(&rd); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/cycle")
		})
	}
}
