//go:build !js

package browserbench

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
)

// Report is what a run measured.
type Report struct {
	Config     ConfigSummary `json:"config"`
	Browser    string        `json:"browser"`
	Throughput *Throughput   `json:"throughput,omitempty"`
	Failover   *Failover     `json:"failover,omitempty"`
}

// ConfigSummary is the run's configuration, for the report.
type ConfigSummary struct {
	Tabs        int     `json:"tabs"`
	Page        string  `json:"page"`
	Seconds     float64 `json:"seconds"`
	Batch       int     `json:"batch"`
	Concurrency int     `json:"concurrency"`
	OpSize      int     `json:"opSize"`
	Trials      int     `json:"trials"`
	Failover    string  `json:"failover"`
}

func (c Config) summary() ConfigSummary {
	page := "bare"
	if c.Demo {
		page = "demo"
	}
	return ConfigSummary{Tabs: c.Tabs, Page: page, Seconds: c.Duration.Seconds(), Batch: c.Batch,
		Concurrency: c.Concurrency, OpSize: c.OpSize, Trials: c.Trials, Failover: c.Failover}
}

// Percentiles summarize samples in milliseconds (nearest rank).
type Percentiles struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func percentiles(samples []float64) Percentiles {
	if len(samples) == 0 {
		return Percentiles{}
	}
	s := slices.Sorted(slices.Values(samples))
	rank := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return Percentiles{N: len(s), P50: round(rank(0.50)), P99: round(rank(0.99)), Max: round(s[len(s)-1])}
}

// round keeps a tenth of a millisecond.
func round(x float64) float64 { return math.Round(x*10) / 10 }

// Targets of issue #6.
const (
	TargetOpsPerSec  = 20000
	TargetFailoverMs = 1000
)

// Print writes the report as tables.
func (r *Report) Print(w io.Writer) error {
	var b strings.Builder
	c := r.Config
	fmt.Fprintf(&b, "tabraft browser benchmark: %d tabs of %s, %s page\n\n", c.Tabs, orUnknown(r.Browser), c.Page)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	if t := r.Throughput; t != nil {
		fmt.Fprintf(&b, "throughput: %d-byte ops, proposeBatch of %d, %d batches in flight per tab, %.1f s\n",
			c.OpSize, c.Batch, c.Concurrency, t.Seconds)
		fmt.Fprintf(tw, "\tcommitted writes/s\tp50 ms\tp99 ms\tmax ms\tops\t\n")
		fmt.Fprintf(tw, "all tabs\t%.0f\t%.1f\t%.1f\t%.1f\t%d\t\n", t.OpsPerSec, t.Latency.P50, t.Latency.P99, t.Latency.Max, t.Ops)
		for _, p := range t.PerTab {
			role := "follower"
			if p.Leader {
				role = "leader"
			}
			fmt.Fprintf(tw, "%s (%s)\t%.0f\t%.1f\t%.1f\t%.1f\t%d\t\n", p.ID, role, p.OpsPerSec, p.Latency.P50, p.Latency.P99, p.Latency.Max, p.Ops)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(&b, "latency: per op, from the proposeBatch call to its resolution in the page\n")
		fmt.Fprintf(&b, "leader's commit index moved %d entries; %d proposeBatch calls rejected%s\n",
			t.Entries, t.Errors, firstError(t.FirstError))
		fmt.Fprintf(&b, "the leader sent %.0f and received %.0f Raft messages/s at the end of the run\n", t.LeaderMsgsOut, t.LeaderMsgsIn)
		fmt.Fprintf(&b, "target %d writes/s: %s\n\n", TargetOpsPerSec, verdict(t.OpsPerSec >= TargetOpsPerSec))
		printCPU(&b, "CPU during the run", t.CPU)
		printCPU(&b, "CPU of the idle cluster before it", t.IdleCPU)
		b.WriteString("\n")
		for _, p := range t.Profiles {
			role := "a follower"
			if p.Leader {
				role = "the leader"
			}
			fmt.Fprintf(&b, "CPU profile of %s's tab (member %s), main thread:\n", role, p.ID)
			p.Profile.print(&b)
		}
	}
	if f := r.Failover; f != nil {
		what := "closed (pagehide: it hands leadership over)"
		if f.Mode == "crash" {
			what = "crashed (no pagehide)"
		}
		fmt.Fprintf(&b, "failover: the leader's tab %s while another tab writes; %d trials\n", what, f.Commit.N)
		fmt.Fprintf(tw, "from the close to\tp50 ms\tp99 ms\tmax ms\t\n")
		fmt.Fprintf(tw, "a new leader known\t%.1f\t%.1f\t%.1f\t\n", f.NewLeader.P50, f.NewLeader.P99, f.NewLeader.Max)
		fmt.Fprintf(tw, "the first write committed (a write every %d ms)\t%.1f\t%.1f\t%.1f\t\n", OpenLoopMs, f.Commit.P50, f.Commit.P99, f.Commit.Max)
		fmt.Fprintf(tw, "a sequential writer's next write committed\t%.1f\t%.1f\t%.1f\t\n", f.Sequential.P50, f.Sequential.P99, f.Sequential.Max)
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(&b, "first write committed, per trial (ms): %v\n", f.CommitSamples)
		fmt.Fprintf(&b, "sequential writer, per trial (ms): %v\n", f.SequentialSamples)
		fmt.Fprintf(&b, "writes rejected during the trials: %d\n", f.ProposeErrors)
		if f.StaleVoters > 0 {
			fmt.Fprintf(&b, "trials after which the closed leader was still a voter %s later (next trial in a new room): %d\n", RemovalWait, f.StaleVoters)
		}
		fmt.Fprintf(&b, "target p99 < %d ms (first write committed): %s\n", TargetFailoverMs, verdict(f.Commit.N > 0 && f.Commit.P99 < TargetFailoverMs))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func firstError(s string) string {
	if s == "" {
		return ""
	}
	return " (first: " + s + ")"
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown browser"
	}
	return s
}

func printCPU(b *strings.Builder, what string, c *CPU) {
	if c == nil {
		return
	}
	fmt.Fprintf(b, "%s: the machine's %d cores were %.2f busy", what, c.Cores, c.Machine)
	if c.Error != "" {
		fmt.Fprintf(b, " (the browser's share is unknown: %s)\n", c.Error)
		return
	}
	var sum float64
	var parts []string
	for _, s := range c.Browser {
		if s.Cores >= 0.005 {
			parts = append(parts, fmt.Sprintf("%s %.2f", s.Type, s.Cores))
		}
		sum += s.Cores
	}
	fmt.Fprintf(b, "; Chromium used %.2f: %s\n", sum, strings.Join(parts, ", "))
	if len(c.Memory) > 0 {
		parts = parts[:0]
		for _, s := range c.Memory {
			parts = append(parts, fmt.Sprintf("%s %.0f", s.Type, s.MiB))
		}
		fmt.Fprintf(b, "  resident memory at the end, MiB: %s; the largest tab %.0f\n", strings.Join(parts, ", "), c.LargestRenderer)
	}
}
