// Command compare runs the bench workload on tabraft, etcd raft and
// hashicorp raft for a fixed time per point and prints writes/s, p50 and p99
// latency and CPU time per write, the ratios of tabraft to the others, and
// the same for the cores alone (lockstep, one goroutine).
//
//	cd bench && go run ./cmd/compare -duration 3s -rounds 3
//
// Points are interleaved across implementations and rounds so that a
// change in the machine's load hits them alike; each figure is the median
// over rounds ("worst" is the worst latency seen in any round). "cores
// used" is the process's CPU time over wall time: well below the number of
// cores, the machine was busy with something else (or the implementation
// idles), and throughput says less than CPU per write does.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tabraft/tabraft/bench"
	"github.com/tabraft/tabraft/raft/rafttest"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

type key struct {
	impl    string
	clients int
}

// table is every measurement of one experiment, by point.
type table map[key][]bench.Measurement

func run(args []string, out, progress io.Writer) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	duration := fs.Duration("duration", 3*time.Second, "measured time per point")
	warmup := fs.Duration("warmup", 500*time.Millisecond, "unmeasured load before each point")
	clientsFlag := fs.String("clients", "1,16,256", "comma-separated client counts (batch sizes for -core)")
	implsFlag := fs.String("impls", "", "comma-separated implementations (default: all)")
	rounds := fs.Int("rounds", 1, "repeat everything this many times and report medians")
	core := fs.Bool("core", true, "also measure the cores alone (lockstep)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rounds < 1 {
		return fmt.Errorf("-rounds must be at least 1")
	}
	clients, err := parseInts(*clientsFlag)
	if err != nil {
		return fmt.Errorf("-clients: %w", err)
	}
	impls, err := selectImpls(*implsFlag)
	if err != nil {
		return err
	}

	fmt.Fprintf(out, "3 members in one process, memory storage, %d-byte writes; %v per point (after %v warm-up); median of %d round(s)\n",
		bench.PayloadSize, *duration, *warmup, *rounds)
	fmt.Fprintf(out, "%s, GOMAXPROCS=%d, %s\n", runtime.Version(), runtime.GOMAXPROCS(0), depVersions())

	cluster, lockstep := table{}, table{}
	for round := range *rounds {
		for _, c := range clients {
			for _, impl := range impls {
				m, err := measureRetrying(progress, impl, loadFor(c, *duration), *warmup)
				if err != nil {
					return err
				}
				fmt.Fprintf(progress, "round %d: %s C=%d: %v, cpu/write %v\n", round+1, impl.Name, c, m.Result, m.CPUPerWrite())
				cluster[key{impl.Name, c}] = append(cluster[key{impl.Name, c}], m)
			}
		}
		if !*core {
			continue
		}
		for _, c := range clients {
			for _, impl := range bench.LockstepImpls() {
				runtime.GC()
				m, err := bench.MeasureLockstep(impl, c, *duration)
				if err != nil {
					return err
				}
				fmt.Fprintf(progress, "round %d: core %s batch=%d: %.0f writes/s, cpu/write %v\n",
					round+1, impl.Name, c, m.PerSecond(), m.CPUPerWrite())
				lockstep[key{impl.Name, c}] = append(lockstep[key{impl.Name, c}], m)
			}
		}
	}

	names := make([]string, len(impls))
	for i, impl := range impls {
		names[i] = impl.Name
	}
	fmt.Fprintln(out, "\nclosed loop: C clients, each waiting until the leader applied its write before the next")
	if err := printCluster(out, clients, names, cluster); err != nil {
		return err
	}
	if !*core {
		return nil
	}
	fmt.Fprintln(out, "\ncores alone: 3 members stepped in lockstep by one goroutine, batches of C writes proposed at once")
	var lnames []string
	for _, impl := range bench.LockstepImpls() {
		lnames = append(lnames, impl.Name)
	}
	return printLockstep(out, clients, lnames, lockstep)
}

// attempts is how many times a point is tried before giving up: on a
// shared machine a starved cluster may lose its leader mid-run.
const attempts = 3

func measureRetrying(progress io.Writer, impl bench.Impl, load rafttest.Load, warmup time.Duration) (bench.Measurement, error) {
	var err error
	for try := 1; try <= attempts; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), load.Duration+warmup+2*time.Minute)
		runtime.GC()
		var m bench.Measurement
		m, err = bench.Measure(ctx, impl, load, warmup)
		cancel()
		if err == nil {
			return m, nil
		}
		fmt.Fprintf(progress, "attempt %d of %s C=%d failed: %v\n", try, impl.Name, load.Clients, err)
	}
	return bench.Measurement{}, err
}

func loadFor(clients int, d time.Duration) rafttest.Load {
	return rafttest.Load{Clients: clients, Duration: d}
}

func printCluster(out io.Writer, clients []int, names []string, t table) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "impl\tC\twrites/s\t(min–max)\tp50\tp99\tworst\tcpu/write\tcores used\t")
	for _, c := range clients {
		for _, name := range names {
			s := summarize(t[key{name, c}])
			fmt.Fprintf(tw, "%s\t%d\t%.0f\t(%.0f–%.0f)\t%v\t%v\t%v\t%v\t%.2f\t\n", name, c, s.rate, s.lo, s.hi,
				round(s.p50), round(s.p99), round(s.worst), round(s.cpu), s.cores)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nratios tabraft/other (writes/s above 1: tabraft faster; latency and cpu/write below 1: tabraft better)")
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "C\tvs\twrites/s\tp50\tp99\tcpu/write\t")
	for _, c := range clients {
		a, ok := t[key{"tabraft", c}]
		if !ok {
			continue
		}
		ta := summarize(a)
		for _, other := range names {
			b, ok := t[key{other, c}]
			if other == "tabraft" || !ok {
				continue
			}
			tb := summarize(b)
			fmt.Fprintf(tw, "%d\t%s\t%.2f\t%.2f\t%.2f\t%.2f\t\n", c, other, ta.rate/tb.rate,
				ratio(ta.p50, tb.p50), ratio(ta.p99, tb.p99), ratio(ta.cpu, tb.cpu))
		}
	}
	return tw.Flush()
}

func printLockstep(out io.Writer, batches []int, names []string, t table) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "impl\tC\twrites/s\t(min–max)\tcpu/write\tcores used\t")
	for _, c := range batches {
		for _, name := range names {
			s := summarize(t[key{name, c}])
			fmt.Fprintf(tw, "%s\t%d\t%.0f\t(%.0f–%.0f)\t%v\t%.2f\t\n", name, c, s.rate, s.lo, s.hi, round(s.cpu), s.cores)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nratios tabraft/etcd, cores alone")
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "C\twrites/s\tcpu/write\t")
	for _, c := range batches {
		a, okA := t[key{"tabraft", c}]
		b, okB := t[key{"etcd", c}]
		if !okA || !okB {
			continue
		}
		ta, tb := summarize(a), summarize(b)
		fmt.Fprintf(tw, "%d\t%.2f\t%.2f\t\n", c, ta.rate/tb.rate, ratio(ta.cpu, tb.cpu))
	}
	return tw.Flush()
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// summary is the median of each figure over a point's rounds.
type summary struct {
	rate, lo, hi float64 // writes/s: median, lowest, highest
	p50, p99     time.Duration
	worst        time.Duration // the worst latency of any round
	cpu          time.Duration // CPU per write
	cores        float64       // CPU time over wall time: 2 means both cores busy
}

func summarize(ms []bench.Measurement) summary {
	med := func(f func(bench.Measurement) float64) float64 {
		vs := make([]float64, len(ms))
		for i, m := range ms {
			vs[i] = f(m)
		}
		slices.Sort(vs)
		return vs[len(vs)/2]
	}
	s := summary{
		rate: med(bench.Measurement.PerSecond),
		p50:  time.Duration(med(func(m bench.Measurement) float64 { return float64(m.P50) })),
		p99:  time.Duration(med(func(m bench.Measurement) float64 { return float64(m.P99) })),
		cpu:  time.Duration(med(func(m bench.Measurement) float64 { return float64(m.CPUPerWrite()) })),
		cores: med(func(m bench.Measurement) float64 {
			return m.CPU.Seconds() / max(m.Elapsed.Seconds(), 1e-9)
		}),
	}
	s.lo, s.hi = ms[0].PerSecond(), ms[0].PerSecond()
	for _, m := range ms {
		s.lo, s.hi = min(s.lo, m.PerSecond()), max(s.hi, m.PerSecond())
		s.worst = max(s.worst, m.Max)
	}
	return s
}

func parseInts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad count %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func selectImpls(s string) ([]bench.Impl, error) {
	all := bench.Impls()
	if s == "" {
		return all, nil
	}
	var out []bench.Impl
	for name := range strings.SplitSeq(s, ",") {
		i := slices.IndexFunc(all, func(impl bench.Impl) bool { return impl.Name == strings.TrimSpace(name) })
		if i < 0 {
			return nil, fmt.Errorf("unknown implementation %q", name)
		}
		out = append(out, all[i])
	}
	return out, nil
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d >= 100*time.Microsecond:
		return d.Round(time.Microsecond)
	case d >= time.Microsecond:
		return d.Round(10 * time.Nanosecond)
	}
	return d
}

// depVersions names the versions of the compared libraries in this build.
func depVersions() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "versions unknown"
	}
	var parts []string
	for _, d := range bi.Deps {
		switch d.Path {
		case "go.etcd.io/raft/v3", "github.com/hashicorp/raft":
			parts = append(parts, d.Path+" "+d.Version)
		}
	}
	return strings.Join(parts, ", ")
}
