package raft

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// benchCatchUp measures how long a brand-new member takes to hold the
// leader's state: from the moment it is added until it applied everything.
func benchCatchUp(b *testing.B, entries, size int, compact bool) {
	var total time.Duration
	var imageBytes int
	for range b.N {
		b.StopTimer()
		c := newCluster(b, 3, func(cfg *Config) { cfg.CompactionKeepEntries = 1 })
		c.campaign(1)
		payload := bytes.Repeat([]byte("x"), size) // no NUL: the harness state separator
		batch := make([][]byte, 0, 256)
		for i := range entries {
			p := append([]byte(nil), payload...)
			copy(p, fmt.Sprint(i))
			batch = append(batch, p)
			if len(batch) == cap(batch) || i == entries-1 {
				if err := c.nodes[1].ProposeBatch(batch); err != nil {
					b.Fatal(err)
				}
				c.process()
				batch = batch[:0]
			}
		}
		c.tick(5)
		if compact {
			imageBytes = len(c.compact(1).Data)
		} else {
			imageBytes = entries * size
		}
		c.join(4)
		b.StartTimer()
		start := time.Now()
		c.changeConf(1, ConfChangeSingle{AddLearner, 4})
		c.process()
		total += time.Since(start)
		b.StopTimer()
		if got, want := len(c.appliedData(4)), len(c.appliedData(1)); got != want {
			b.Fatalf("new member applied %d of %d", got, want)
		}
	}
	per := total / time.Duration(b.N)
	b.ReportMetric(float64(per.Microseconds())/1000, "ms/catch-up")
	b.ReportMetric(float64(imageBytes)/per.Seconds()/1e6, "MB/s")
}

// BenchmarkCatchUpFromSnapshot10MB: a 10 MB snapshot streamed in 16 KiB chunks.
func BenchmarkCatchUpFromSnapshot10MB(b *testing.B) { benchCatchUp(b, 10_000, 1000, true) }

// BenchmarkCatchUpFromLog100k: 100,000 entries of 128 bytes replayed from the log.
func BenchmarkCatchUpFromLog100k(b *testing.B) { benchCatchUp(b, 100_000, 128, false) }
