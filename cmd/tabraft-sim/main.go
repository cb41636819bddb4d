// Command tabraft-sim runs the deterministic simulator on the Raft core:
// many seeds in parallel with a summary, or one seed (optionally narrated).
// A failing seed prints the command that replays it exactly and the path of
// porcupine's visualization of its history.
//
//	tabraft-sim -seeds 2000 -members 5          # what `make test` runs
//	tabraft-sim -churn -seeds 300               # and its churn sweep
//	tabraft-sim -seed 1 -narrate -duration 20s  # watch one run
package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/tabraft/tabraft/raft/sim"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	fs := flag.NewFlagSet("tabraft-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := sim.DefaultConfig(1)
	seed := fs.Uint64("seed", 1, "run this one seed")
	seeds := fs.Int("seeds", 0, "run this many seeds (from -first on) instead of one")
	first := fs.Uint64("first", 1, "first seed of -seeds")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "seeds run in parallel")
	narrate := fs.Bool("narrate", false, "tell what happens (single seed)")
	verbose := fs.Bool("v", false, "print one line per seed")
	out := fs.String("out", "out", "directory for the visualizations of failing seeds")
	maxReport := fs.Int("report", 5, "failing seeds reported in detail")
	fs.IntVar(&cfg.Members, "members", cfg.Members, "cluster size")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "virtual time of the fault phase")
	fs.DurationVar(&cfg.LivenessBound, "liveness", cfg.LivenessBound, "virtual time allowed to settle after healing")
	fs.IntVar(&cfg.Clients, "clients", cfg.Clients, "concurrent clients")
	fs.IntVar(&cfg.Keys, "keys", cfg.Keys, "distinct keys")
	fs.BoolVar(&cfg.Membership, "membership", cfg.Membership, "configuration changes during the fault phase: joins, promotions, demotions, removals, joint changes")
	fs.BoolVar(&cfg.Faults, "faults", cfg.Faults, "partitions, crashes and pauses (false: only the network's own drops and delays)")
	fs.DurationVar(&cfg.FaultInterval, "fault-interval", cfg.FaultInterval, "mean time between faults")
	fs.Float64Var(&cfg.Net.Drop, "drop", cfg.Net.Drop, "probability a message is lost")
	fs.Float64Var(&cfg.Net.Duplicate, "dup", cfg.Net.Duplicate, "probability a message is duplicated")
	fs.Float64Var(&cfg.Net.Slow, "slow", cfg.Net.Slow, "probability a message is delayed up to -slow-delay")
	fs.DurationVar(&cfg.Net.SlowDelay, "slow-delay", cfg.Net.SlowDelay, "longest delay of a slow message")
	fs.DurationVar(&cfg.Net.MaxLatency, "latency", cfg.Net.MaxLatency, "longest ordinary one-way delay")
	fs.DurationVar(&cfg.DiskLatency, "disk", cfg.DiskLatency, "longest synced write (a crash before it completes loses it)")
	fs.BoolVar(&cfg.TornWrites, "torn", cfg.TornWrites, "a crash may keep a prefix of an unfinished write")
	fs.BoolVar(&cfg.ReadIndex, "readindex", cfg.ReadIndex, "serve half of the reads with ReadIndex instead of the log")
	fs.BoolVar(&cfg.LeaseReads, "lease", cfg.LeaseReads, "ReadIndex from the leader lease (unsafe when clocks misbehave: pauses, throttling)")
	churn := fs.Bool("churn", false, "members arrive, leave, crash and come back, one founder at first, the membership planner (peer/autopilot) deciding every change; sets -members 1, -duration 1m, -liveness 30s, -fault-interval 3s unless given")
	var ch sim.ChurnConfig
	fs.IntVar(&ch.MaxPresent, "max-present", 0, "churn: most members present at once (0: drawn per seed in [3, 9])")
	fs.IntVar(&ch.TargetVoters, "target-voters", 0, "churn: the planner's target number of voters, odd (0: 3 or 5 per seed)")
	fs.DurationVar(&ch.DeadTimeout, "dead-timeout", 0, "churn: silence after which the planner removes a member (0: 2s, 3s or 5s per seed)")
	fs.DurationVar(&ch.Interval, "churn-interval", 0, "churn: mean time between arrivals, leaves and crashes (0: 2s, 3s or 5s per seed)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *churn {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		def := sim.DefaultChurnConfig(1)
		if !set["members"] {
			cfg.Members = def.Members
		}
		if !set["duration"] {
			cfg.Duration = def.Duration
		}
		if !set["liveness"] {
			cfg.LivenessBound = def.LivenessBound
		}
		if !set["membership"] {
			cfg.Membership = false
		}
		if !set["fault-interval"] {
			cfg.FaultInterval = def.FaultInterval
		}
		cfg.Churn = &ch
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments: %v\n", fs.Args())
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "bad configuration:\n%v\n", err)
		return 2
	}
	replay := replayArgs(fs, cfg)

	if *seeds <= 0 {
		cfg.Seed = *seed
		s, err := sim.New(cfg)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		if *narrate {
			s.Narrate(stdout)
		}
		start := time.Now()
		r := s.Run()
		if !*narrate {
			fmt.Fprintln(stdout, r.Summary())
		}
		fmt.Fprintf(stdout, "trace %016x, %s wall time\n", r.TraceHash, time.Since(start).Round(time.Millisecond))
		if r.Failed() {
			report(stdout, log, &r, replay, *out)
			return 1
		}
		return 0
	}

	start := time.Now()
	sum := sim.RunSeeds(cfg, *first, *seeds, *workers, func(r sim.Result) {
		if r.Linearizable == sim.LinUnknown {
			fmt.Fprintf(stdout, "seed %d: porcupine did not decide the history of %d operations in time\n", r.Config.Seed, len(r.History))
		}
		if *verbose || r.Failed() {
			status := "ok"
			if r.Failed() {
				status = fmt.Sprintf("FAILED: %s", r.Violations[0])
			}
			fmt.Fprintf(stdout, "seed %d: %d ops, %d elections, %d faults, %d configuration changes, commit %d, could commit %.1f%% (longest stall %s), trace %016x: %s\n",
				r.Config.Seed, r.Stats.Ops, r.Stats.Elections, r.Stats.Faults, r.Stats.ConfChanges, r.Stats.Commit,
				100*r.CommitAvailability(), r.Stats.LongestStall, r.TraceHash, status)
		}
	})
	wall := time.Since(start)
	fmt.Fprintln(stdout, sum.String())
	fmt.Fprintf(stdout, "wall time:   %s (%.1f seeds/s on %d workers)\n", wall.Round(time.Millisecond),
		float64(sum.Seeds)/wall.Seconds(), *workers)
	for i := range sum.Failed {
		if i == *maxReport {
			fmt.Fprintf(stdout, "... and %d more failing seeds\n", len(sum.Failed)-i)
			break
		}
		report(stdout, log, &sum.Failed[i], replay, *out)
	}
	if len(sum.Failed) > 0 {
		return 1
	}
	return 0
}

// report prints a failing run's violations, the command that replays it
// and where its history's visualization went.
func report(w io.Writer, log *slog.Logger, r *sim.Result, replay func(uint64) string, dir string) {
	fmt.Fprintf(w, "\nseed %d FAILED:\n", r.Config.Seed)
	for _, v := range r.Violations {
		fmt.Fprintf(w, "  %s\n", v)
	}
	fmt.Fprintf(w, "  replay: %s\n", replay(r.Config.Seed))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Error("cannot create the visualization directory", "dir", dir, "err", err)
		return
	}
	path := filepath.Join(dir, fmt.Sprintf("porcupine-seed-%d.html", r.Config.Seed))
	f, err := os.Create(path)
	if err != nil {
		log.Error("cannot write the visualization", "path", path, "err", err)
		return
	}
	err = r.Visualize(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		log.Error("cannot write the visualization", "path", path, "err", err)
		return
	}
	fmt.Fprintf(w, "  history: %s\n", path)
}

// replayArgs returns a function building the command that replays one seed
// with the same configuration: every simulation flag that was set, plus
// those that identify the run (as cfg has them).
func replayArgs(fs *flag.FlagSet, cfg sim.Config) func(uint64) string {
	skip := map[string]bool{"seed": true, "seeds": true, "first": true, "workers": true, "v": true,
		"out": true, "report": true, "narrate": true, "members": true, "duration": true}
	var set []string
	fs.Visit(func(f *flag.Flag) {
		if !skip[f.Name] {
			set = append(set, fmt.Sprintf("-%s=%s", f.Name, f.Value))
		}
	})
	return func(seed uint64) string {
		parts := append([]string{"go run ./cmd/tabraft-sim", fmt.Sprintf("-seed %d -members %d -duration %s", seed, cfg.Members, cfg.Duration)}, set...)
		return strings.Join(append(parts, "-narrate"), " ")
	}
}
