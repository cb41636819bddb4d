package sim

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Summary aggregates the results of many seeds.
type Summary struct {
	Seeds                  int
	Ops, OpsOK, OpsUnknown int
	Elections, Faults      int
	// ConfChanges and Joins add up Stats.ConfChanges and Stats.Joins; Conf
	// adds up the kinds of changes.
	ConfChanges, Joins        int
	Conf                      ConfCounts
	FaultCounts               [numFaultKinds]int
	Messages, Dropped         int
	Snapshots, Installed      int
	Commits                   uint64
	VirtualTime               time.Duration
	Windows, AvailableWindows int
	MaxRecovery, SumRecovery  time.Duration
	// DemandWindows and CommitWindows add up the runs'; LongestStall is the
	// longest (in StallSeed); MinAvailability the lowest share of a run (in
	// MinAvailSeed).
	DemandWindows, CommitWindows int
	LongestStall                 time.Duration
	StallSeed                    uint64
	MinAvailability              float64
	MinAvailSeed                 uint64
	// Churn adds up the runs' churn (churn runs).
	Churn      ChurnStats
	ChurnSeeds int
	// LinUnknown counts histories porcupine could not decide in time;
	// SlowestCheck is the longest porcupine took on one (for SlowestSeed).
	LinUnknown   int
	SlowestCheck time.Duration
	SlowestSeed  uint64
	// Violations counts broken invariants over all seeds; Failed holds the
	// failing runs in seed order.
	Violations int
	Failed     []Result
}

// Add folds one run into the summary.
func (s *Summary) Add(r Result) {
	st := &r.Stats
	s.Seeds++
	s.Ops += st.Ops
	s.OpsOK += st.OpsOK
	s.OpsUnknown += st.OpsUnknown
	s.Elections += st.Elections
	s.Faults += st.Faults
	s.ConfChanges += st.ConfChanges
	s.Joins += st.Joins
	s.Conf.add(st.ConfCounts)
	for k, n := range st.FaultCounts {
		s.FaultCounts[k] += n
	}
	s.Messages += st.Messages
	s.Dropped += st.Dropped
	s.Snapshots += st.Snapshots
	s.Installed += st.SnapshotsInstalled
	s.Commits += st.Commit
	s.VirtualTime += r.VirtualTime
	s.Windows += st.Windows
	s.AvailableWindows += st.AvailableWindows
	s.MaxRecovery = max(s.MaxRecovery, st.Recovery)
	s.DemandWindows += st.DemandWindows
	s.CommitWindows += st.CommitWindows
	if st.LongestStall > s.LongestStall || s.Seeds == 1 {
		s.LongestStall, s.StallSeed = st.LongestStall, r.Config.Seed
	}
	if a := r.CommitAvailability(); a < s.MinAvailability || s.Seeds == 1 {
		s.MinAvailability, s.MinAvailSeed = a, r.Config.Seed
	}
	if r.Config.Churn != nil {
		s.ChurnSeeds++
		s.Churn.add(st.Churn)
	}
	s.SumRecovery += st.Recovery
	if r.Linearizable == LinUnknown {
		s.LinUnknown++
	}
	if r.CheckTime > s.SlowestCheck {
		s.SlowestCheck, s.SlowestSeed = r.CheckTime, r.Config.Seed
	}
	if r.Failed() {
		s.Violations += len(r.Violations)
		s.Failed = append(s.Failed, r)
	}
}

// String is the summary as tabraft-sim prints it.
func (s *Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seeds:       %d (%s of virtual time)\n", s.Seeds, s.VirtualTime.Round(time.Second))
	fmt.Fprintf(&b, "operations:  %d (%d answered, %d outcome unknown)\n", s.Ops, s.OpsOK, s.OpsUnknown)
	fmt.Fprintf(&b, "porcupine:   slowest check %s (seed %d); histories not decided in time: %d\n",
		s.SlowestCheck.Round(time.Millisecond), s.SlowestSeed, s.LinUnknown)
	fmt.Fprintf(&b, "elections:   %d\n", s.Elections)
	fmt.Fprintf(&b, "faults:      %d (%s)\n", s.Faults, faultBreakdown(&s.FaultCounts))
	fmt.Fprintf(&b, "membership:  %d configuration changes (%s), %d new members started\n",
		s.ConfChanges, s.Conf.confBreakdown(), s.Joins)
	fmt.Fprintf(&b, "messages:    %d (%d lost)\n", s.Messages, s.Dropped)
	fmt.Fprintf(&b, "snapshots:   %d taken, %d installed from a leader\n", s.Snapshots, s.Installed)
	fmt.Fprintf(&b, "committed:   %d entries\n", s.Commits)
	avail, meanRec := 0.0, time.Duration(0)
	if s.Windows > 0 {
		avail = 100 * float64(s.AvailableWindows) / float64(s.Windows)
	}
	if s.Seeds > 0 {
		meanRec = s.SumRecovery / time.Duration(s.Seeds)
	}
	fmt.Fprintf(&b, "available:   %.1f%% of %s windows under faults; recovery after healing: mean %s, max %s\n",
		avail, sampleEvery, meanRec.Round(time.Millisecond), s.MaxRecovery.Round(time.Millisecond))
	commit := 0.0
	if s.DemandWindows > 0 {
		commit = 100 * float64(s.CommitWindows) / float64(s.DemandWindows)
	}
	fmt.Fprintf(&b, "commit availability: %.1f%% of %d windows with operations outstanding (lowest run %.1f%%, seed %d); longest stall %s (seed %d)\n",
		commit, s.DemandWindows, 100*s.MinAvailability, s.MinAvailSeed, s.LongestStall, s.StallSeed)
	if s.ChurnSeeds > 0 {
		fmt.Fprintf(&b, "churn:       %s\n", s.Churn.String())
	}
	fmt.Fprintf(&b, "violations:  %d (in %d seeds)", s.Violations, len(s.Failed))
	return b.String()
}

// RunSeeds runs count seeds from first on, each with base but for its
// seed, on workers goroutines. Every run is deterministic on its own; each
// is called with the results in seed order. Histories of runs that did not
// fail are dropped from the summary to save memory.
func RunSeeds(base Config, first uint64, count, workers int, each func(Result)) Summary {
	workers = max(1, min(workers, count))
	results := make(chan Result, workers)
	seeds := make(chan uint64)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seed := range seeds {
				cfg := base
				cfg.Seed = seed
				s, err := New(cfg)
				if err != nil {
					results <- Result{Config: cfg, Violations: []Violation{{Invariant: CoreError, Detail: err.Error()}}}
					continue
				}
				results <- s.Run()
			}
		}()
	}
	go func() {
		for i := range count {
			seeds <- first + uint64(i)
		}
		close(seeds)
		wg.Wait()
		close(results)
	}()
	var sum Summary
	waiting := map[uint64]Result{}
	next := first
	for r := range results {
		waiting[r.Config.Seed] = r
		for {
			r, ok := waiting[next]
			if !ok {
				break
			}
			delete(waiting, next)
			next++
			if each != nil {
				each(r)
			}
			if !r.Failed() {
				r.History = nil
			}
			sum.Add(r)
		}
	}
	return sum
}
