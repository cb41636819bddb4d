package sim

import "testing"

// BenchmarkSeed measures one default seed (10 s of virtual time, every
// fault on), porcupine check included.
func BenchmarkSeed(b *testing.B) {
	var ops int
	for i := range b.N {
		s, err := New(DefaultConfig(uint64(i + 1)))
		if err != nil {
			b.Fatal(err)
		}
		r := s.Run()
		if r.Failed() {
			b.Fatalf("seed %d: %v", i+1, r.Violations)
		}
		ops += r.Stats.Ops
	}
	b.ReportMetric(float64(ops)/float64(b.N), "ops/seed")
}
