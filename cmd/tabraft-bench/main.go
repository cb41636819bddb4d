//go:build !js

// Command tabraft-bench measures tabraft in headless Chromium: tabs of one
// browser are the members of a room of the real signaling server; it
// reports committed writes per second with batched proposals, their commit
// latency, and the failover time when the leader's tab closes. It builds
// everything it runs (from the module it is run in) and needs Chromium.
//
//	go run ./cmd/tabraft-bench -tabs 3 -duration 5s -batch 128 -concurrency 4 -trials 20
//
// See internal/browserbench for what exactly is measured.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/tabraft/tabraft/internal/browserbench"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tabraft-bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (browserbench.Config, bool, error) {
	c := browserbench.Config{}
	var asJSON bool
	fs := flag.NewFlagSet("tabraft-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.Tabs, "tabs", browserbench.DefaultTabs, "member tabs")
	fs.DurationVar(&c.Duration, "duration", browserbench.DefaultDuration, "length of the throughput run (0: skip it)")
	fs.DurationVar(&c.Warmup, "warmup", browserbench.DefaultWarmup, "throughput run before the measured one, not reported")
	fs.IntVar(&c.Batch, "batch", browserbench.DefaultBatch, "ops per proposeBatch call")
	fs.IntVar(&c.Concurrency, "concurrency", browserbench.DefaultConcurrency, "proposeBatch calls in flight per tab")
	fs.IntVar(&c.OpSize, "op-size", browserbench.DefaultOpSize, "bytes per op (its JSON)")
	fs.IntVar(&c.Trials, "trials", browserbench.DefaultTrials, "failover trials (0: skip them)")
	fs.StringVar(&c.Failover, "failover", "close", "how the leader's tab goes: close (pagehide: a leader hands over) or crash (renderer killed)")
	fs.BoolVar(&c.Demo, "demo", false, "run the demo page in the tabs instead of a bare page with the member only")
	fs.BoolVar(&c.Profile, "profile", false, "profile the leader tab's CPU during the throughput run (builds the wasm with symbols)")
	fs.IntVar(&c.ProfileTop, "profile-top", browserbench.DefaultProfileTop, "functions in each list of a profile")
	fs.StringVar(&c.ProfileDir, "profile-dir", "", "write each tab's whole CPU profile to this directory (<member id>.cpuprofile, for DevTools)")
	fs.StringVar(&c.ConsoleDir, "console-dir", "", "write each tab's console to this directory (<member id>.log)")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return c, false, err
	}
	if fs.NArg() > 0 {
		return c, false, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	return c, asJSON, c.Validate()
}

func run(args []string, stdout, stderr io.Writer) error {
	c, asJSON, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	c.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := browserbench.Run(ctx, c)
	if rep != nil {
		if asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if jerr := enc.Encode(rep); jerr != nil {
				return jerr
			}
		} else if perr := rep.Print(stdout); perr != nil {
			return perr
		}
	}
	return err
}
