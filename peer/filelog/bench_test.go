package filelog

import (
	"fmt"
	"testing"

	"github.com/tabraft/tabraft/raft"
)

// BenchmarkSave measures Save of batches of 128-byte entries, each Save
// fsynced (as every Ready with entries is). MB/s counts entry data.
func BenchmarkSave(b *testing.B) {
	for _, n := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			benchSave(b, n, Options{})
		})
	}
}

func benchSave(b *testing.B, n int, opts Options) {
	l := mustOpen(b, b.TempDir(), opts)
	defer l.Close()
	data := make([]byte, 128)
	for i := range data {
		data[i] = byte(i)
	}
	es := make([]raft.Entry, n)
	next := uint64(1)
	b.SetBytes(int64(n * len(data)))
	b.ReportAllocs()
	for b.Loop() {
		for i := range es {
			es[i] = raft.Entry{Index: next + uint64(i), Term: 1, Data: data}
		}
		next += uint64(n)
		rd := raft.Ready{Entries: es, HardState: raft.HardState{Term: 1, Vote: 1, Commit: next - 1}, MustSync: true}
		if err := l.Save(&rd); err != nil {
			b.Fatal(err)
		}
		if l.LastIndex()-l.st.snapIndex >= 1<<16 {
			// Keep the memory the Log holds bounded, as the core's
			// compaction policy would.
			b.StopTimer()
			if err := l.Compact(raft.Snapshot{Meta: raft.SnapshotMeta{Index: next - 1, Term: 1}}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	}
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/s, "saves/s")
	b.ReportMetric(float64(b.N*n)/s, "entries/s")
}

// BenchmarkSaveCommitOnly measures a Ready that only moves the commit
// index (MustSync false): unsynced by default, fsynced with SyncAlways.
func BenchmarkSaveCommitOnly(b *testing.B) {
	for _, always := range []bool{false, true} {
		b.Run(fmt.Sprintf("SyncAlways=%v", always), func(b *testing.B) {
			l := mustOpen(b, b.TempDir(), Options{SyncAlways: always})
			defer l.Close()
			mustSave(b, l, raft.Ready{Entries: ents(1, 1, 1), MustSync: true})
			var commit uint64
			for b.Loop() {
				commit++
				rd := raft.Ready{HardState: raft.HardState{Term: 1, Commit: commit % 2}}
				if err := l.Save(&rd); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "saves/s")
		})
	}
}
