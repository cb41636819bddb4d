package main

import (
	"bytes"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/tabraft/tabraft/raft/sim"
)

func TestRunOneSeed(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"-seed", "3", "-duration", "1s", "-members", "3"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errs.String())
	}
	if !strings.Contains(out.String(), "seed 3:") || !strings.Contains(out.String(), "trace ") {
		t.Fatalf("output lacks the summary:\n%s", out.String())
	}
}

func TestRunSeedsSummary(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"-seeds", "4", "-first", "20", "-duration", "1s"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errs.String())
	}
	for _, want := range []string{"seeds:       4", "violations:  0", "seeds/s"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunChurn(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"-churn", "-seeds", "3", "-duration", "15s", "-max-present", "5"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errs.String())
	}
	for _, want := range []string{"seeds:       3", "violations:  0", "churn:", "arrivals", "commit availability:", "longest stall"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run([]string{"-churn", "-seed", "4", "-duration", "10s", "-target-voters", "5"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errs.String())
	}
	if !strings.Contains(out.String(), "planner: 5 voters") {
		t.Errorf("one churn seed does not show its planner:\n%s", out.String())
	}
	if code := run([]string{"-churn", "-members", "3"}, &out, &errs); code != 2 {
		t.Fatalf("exit %d for churn with 3 founders", code)
	}
	if code := run([]string{"-churn", "-target-voters", "4"}, &out, &errs); code != 2 {
		t.Fatalf("exit %d for an even target", code)
	}
}

func TestBadFlags(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"-drop", "2"}, &out, &errs); code != 2 {
		t.Fatalf("exit %d for a drop rate of 2", code)
	}
	if code := run([]string{"extra"}, &out, &errs); code != 2 {
		t.Fatalf("exit %d for a stray argument", code)
	}
}

func TestReplayCommandKeepsTheConfiguration(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	for _, name := range []string{"seeds", "members", "duration", "drop", "workers"} {
		fs.String(name, "", "")
	}
	fs.Bool("faults", true, "")
	if err := fs.Parse([]string{"-seeds", "100", "-members", "3", "-duration", "5s", "-drop", "0.2", "-faults=false", "-workers", "8"}); err != nil {
		t.Fatal(err)
	}
	cfg := sim.DefaultConfig(1)
	cfg.Members, cfg.Duration = 3, 5*time.Second
	got := replayArgs(fs, cfg)(42)
	want := "go run ./cmd/tabraft-sim -seed 42 -members 3 -duration 5s -drop=0.2 -faults=false -narrate"
	if got != want {
		t.Fatalf("replay\n got %s\nwant %s", got, want)
	}
}
