package sim

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tabraft/tabraft/raft"
)

// TestSeeds runs a few hundred seeds with every fault on: none may break
// an invariant, and the runs must actually have exercised the faults.
func TestSeeds(t *testing.T) {
	count := 200
	if testing.Short() {
		count = 40
	}
	cfg := DefaultConfig(0)
	cfg.Duration = 10 * time.Second // `make sim` runs 2,000 seeds of the full length
	sum := RunSeeds(cfg, 1, count, runtime.GOMAXPROCS(0), nil)
	for _, r := range sum.Failed {
		for _, v := range r.Violations {
			t.Errorf("seed %d: %s", r.Config.Seed, v)
		}
	}
	if sum.Seeds != count {
		t.Fatalf("ran %d seeds, want %d", sum.Seeds, count)
	}
	for k := range numFaultKinds {
		if sum.FaultCounts[k] == 0 {
			t.Errorf("no %s fault injected in %d seeds", FaultKind(k), count)
		}
	}
	if c := sum.Conf; sum.ConfChanges < count || sum.Joins == 0 || c.Added == 0 || c.Promotions == 0 ||
		c.Demotions == 0 || c.Removals == 0 || c.JointChanges == 0 {
		t.Errorf("membership too thin: %d configuration changes (%s), %d joins", sum.ConfChanges, c.confBreakdown(), sum.Joins)
	}
	if sum.OpsOK < count*50 || sum.OpsUnknown == 0 || sum.Elections < count {
		t.Errorf("workload too thin: %d ops answered, %d unknown, %d elections", sum.OpsOK, sum.OpsUnknown, sum.Elections)
	}
	t.Logf("\n%s", sum.String())
}

// TestDeterminism: a seed replays step for step; another seed does not.
func TestDeterminism(t *testing.T) {
	run := func(seed uint64) Result {
		cfg := DefaultConfig(seed)
		cfg.Duration = 3 * time.Second
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return s.Run()
	}
	a, b, c := run(7), run(7), run(8)
	if a.TraceHash != b.TraceHash || a.Stats != b.Stats || len(a.History) != len(b.History) {
		t.Fatalf("seed 7 twice: trace %x vs %x, stats %+v vs %+v", a.TraceHash, b.TraceHash, a.Stats, b.Stats)
	}
	for i := range a.History {
		if a.History[i] != b.History[i] {
			t.Fatalf("seed 7 twice: operation %d differs: %+v vs %+v", i, a.History[i], b.History[i])
		}
	}
	if a.TraceHash == c.TraceHash {
		t.Fatalf("seeds 7 and 8 have the same trace %x", a.TraceHash)
	}
	if a.Stats.Messages == 0 || a.Stats.OpsOK == 0 {
		t.Fatalf("seed 7 did nothing: %+v", a.Stats)
	}
}

// TestScheduledFaults drives a run through an explicit fault schedule
// covering every kind, and checks each one took effect.
func TestScheduledFaults(t *testing.T) {
	cfg := DefaultConfig(3)
	cfg.Duration = 8 * time.Second
	sec := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	cfg.Schedule = []Fault{
		{At: sec(1), Kind: FaultSplit, Sides: [][]raft.NodeID{{1, 2}, {3, 4, 5}}},
		{At: sec(1.5), Kind: FaultCrash, Member: 3},
		{At: sec(2), Kind: FaultHeal},
		{At: sec(2.5), Kind: FaultRestart, Member: 3},
		{At: sec(2.7), Kind: FaultReboot, Member: 2, Downtime: 20 * time.Millisecond},
		{At: sec(3), Kind: FaultOneWay, Member: 4, Inbound: true},
		{At: sec(3.5), Kind: FaultPause, Member: 5},
		{At: sec(4), Kind: FaultPartial, Pairs: [][2]raft.NodeID{{1, 3}, {2, 4}}},
		{At: sec(4.5), Kind: FaultResume, Member: 5},
		{At: sec(4.6), Kind: FaultThrottle, Member: 2, Interval: time.Second},
		{At: sec(4.8), Kind: FaultTransfer, Member: 3},
		{At: sec(5), Kind: FaultIsolate, Member: 1},
		{At: sec(5.2), Kind: FaultCrash, Member: 2},
		{At: sec(6), Kind: FaultHeal},
		// Still down when the fault phase ends: the heal restarts it.
		{At: sec(6.5), Kind: FaultCrash, Member: 4},
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := s.Run()
	for _, v := range r.Violations {
		t.Errorf("%s", v)
	}
	if r.Stats.Faults != len(cfg.Schedule) {
		t.Errorf("%d faults applied, want %d (%v)", r.Stats.Faults, len(cfg.Schedule), r.Stats.FaultCounts)
	}
	for k := range numFaultKinds {
		if r.Stats.FaultCounts[k] == 0 {
			t.Errorf("no %s fault applied", FaultKind(k))
		}
	}
	if r.Stats.OpsOK == 0 || r.Stats.Recovery <= 0 {
		t.Errorf("no progress or no recovery measured: %+v", r.Stats)
	}
}

// TestLivenessBoundIsEnforced: with a leader crashed just before healing
// and a bound too short to elect a new one, the run reports liveness.
func TestLivenessBoundIsEnforced(t *testing.T) {
	cfg := DefaultConfig(4)
	cfg.Duration = 2 * time.Second
	cfg.LivenessBound = 50 * time.Millisecond
	cfg.Net.Drop, cfg.Net.Duplicate, cfg.Net.Slow = 0, 0, 0
	cfg.Schedule = []Fault{}
	for id := raft.NodeID(1); id <= 5; id++ {
		cfg.Schedule = append(cfg.Schedule, Fault{At: cfg.Duration - time.Millisecond, Kind: FaultCrash, Member: id})
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := s.Run()
	if len(r.Violations) != 1 || r.Violations[0].Invariant != Liveness {
		t.Fatalf("violations %v, want exactly one liveness violation", r.Violations)
	}
	// With the default bound the same run settles.
	cfg.LivenessBound = DefaultConfig(0).LivenessBound
	s, _ = New(cfg)
	if r := s.Run(); r.Failed() {
		t.Fatalf("with a 10s bound: %v", r.Violations)
	}
}

// TestHostBugsAreCaught breaks the Ready contract in the host and expects
// the checks to notice.
func TestHostBugsAreCaught(t *testing.T) {
	for _, tc := range []struct {
		name          string
		bugs          hostBugs
		want          []Invariant
		seeds, caught int
	}{
		{"send before persist", hostBugs{sendBeforePersist: true}, []Invariant{PersistBeforeSend, VoteSafety}, 5, 5},
		{"forget hard state", hostBugs{forgetHardState: true}, []Invariant{PersistBeforeSend, VoteSafety}, 5, 5},
		{"local reads", hostBugs{localReads: true}, []Invariant{Linearizability}, 5, 4},
		// Only reads served by a lagging follower expose this one.
		{"read before apply", hostBugs{readBeforeApply: true}, []Invariant{Linearizability}, 100, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			caught := 0
			for seed := uint64(1); seed <= uint64(tc.seeds); seed++ {
				s, err := New(DefaultConfig(seed))
				if err != nil {
					t.Fatal(err)
				}
				s.bugs = tc.bugs
				r := s.Run()
				if !r.Failed() {
					continue
				}
				v := r.Violations[0]
				ok := false
				for _, w := range tc.want {
					ok = ok || v.Invariant == w
				}
				if !ok {
					t.Errorf("seed %d: caught as %s, want one of %v: %s", seed, v.Invariant, tc.want, v)
				}
				caught++
			}
			if caught < tc.caught {
				t.Fatalf("caught in %d of %d seeds, want at least %d", caught, tc.seeds, tc.caught)
			}
			t.Logf("caught in %d of %d seeds", caught, tc.seeds)
		})
	}
}

// TestRunSeedsInOrder: results come back in seed order whatever the
// parallelism, and match single runs.
func TestRunSeedsInOrder(t *testing.T) {
	base := DefaultConfig(0)
	base.Duration = time.Second
	var seeds []uint64
	var hashes []uint64
	RunSeeds(base, 10, 6, 3, func(r Result) {
		seeds = append(seeds, r.Config.Seed)
		hashes = append(hashes, r.TraceHash)
	})
	for i, s := range seeds {
		if s != 10+uint64(i) {
			t.Fatalf("results in order %v", seeds)
		}
	}
	cfg := base
	cfg.Seed = 12
	sim, _ := New(cfg)
	if r := sim.Run(); r.TraceHash != hashes[2] {
		t.Fatalf("seed 12 alone: trace %x, in parallel %x", r.TraceHash, hashes[2])
	}
}

func TestConfigValidate(t *testing.T) {
	good := DefaultConfig(1)
	if err := good.Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	for name, mutate := range map[string]func(*Config){
		"no members":     func(c *Config) { c.Members = 0 },
		"drop above 1":   func(c *Config) { c.Net.Drop = 1.5 },
		"no duration":    func(c *Config) { c.Duration = 0 },
		"latency order":  func(c *Config) { c.Net.MaxLatency = c.Net.MinLatency / 2 },
		"bad fault":      func(c *Config) { c.Schedule = []Fault{{Kind: FaultCrash, Member: 9}} },
		"split one side": func(c *Config) { c.Schedule = []Fault{{Kind: FaultSplit, Sides: [][]raft.NodeID{{1, 2}}}} },
	} {
		c := DefaultConfig(1)
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := New(c); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

// TestNarrationDoesNotChangeTheRun: the replay command adds -narrate, so
// narrating must not change a single step.
func TestNarrationDoesNotChangeTheRun(t *testing.T) {
	cfg := DefaultConfig(11)
	cfg.Duration = 4 * time.Second
	quiet, _ := New(cfg)
	told, _ := New(cfg)
	var b strings.Builder
	told.Narrate(&b)
	a, n := quiet.Run(), told.Run()
	if a.TraceHash != n.TraceHash || a.Stats != n.Stats {
		t.Fatalf("narrated run differs: trace %x vs %x", a.TraceHash, n.TraceHash)
	}
	for _, want := range []string{"becomes leader of term", "commit index", "faults healed", "settled"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("narration lacks %q:\n%s", want, b.String())
		}
	}
}

// TestPanicIsAViolation: a panic ends the run as a violation rather than
// taking the whole batch of seeds down.
func TestPanicIsAViolation(t *testing.T) {
	s, err := New(DefaultConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	s.cfg.Keys = 0 // the first client operation draws a key from nothing
	r := s.Run()
	if len(r.Violations) != 1 || r.Violations[0].Invariant != Panic || !strings.Contains(r.Violations[0].Detail, "IntN") {
		t.Fatalf("violations %v, want one panic", r.Violations)
	}
}
