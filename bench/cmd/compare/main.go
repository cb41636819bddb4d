// Command compare runs the bench workload on tabraft, etcd raft and
// hashicorp raft for a fixed time per point and prints a table of writes/s,
// p50 and p99 latency, and the ratios of tabraft to the others.
//
//	cd bench && go run ./cmd/compare -duration 3s
package main

import (
	"cmp"
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
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

type key struct {
	impl    string
	clients int
}

type point struct {
	impl    string
	clients int
	res     rafttest.Result
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	duration := fs.Duration("duration", 3*time.Second, "measured time per point")
	warmup := fs.Duration("warmup", 500*time.Millisecond, "unmeasured load before each point")
	clientsFlag := fs.String("clients", "1,16,256", "comma-separated client counts")
	implsFlag := fs.String("impls", "", "comma-separated implementations (default: all)")
	core := fs.Bool("core", true, "also measure the cores alone (lockstep, one goroutine, batches of C writes)")
	rounds := fs.Int("rounds", 1, "repeat the whole matrix this many times (interleaved) and report medians")
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

	fmt.Fprintf(out, "3 members in one process, memory storage, %d-byte writes, closed loop; %v per point after %v warm-up; median of %d round(s)\n",
		bench.PayloadSize, *duration, *warmup, *rounds)
	fmt.Fprintf(out, "%s, GOMAXPROCS=%d, %s\n\n", runtime.Version(), runtime.GOMAXPROCS(0), depVersions())

	runs := make(map[key][]rafttest.Result)
	for round := range *rounds {
		for _, c := range clients {
			for _, impl := range impls {
				ctx, cancel := context.WithTimeout(context.Background(), *duration+*warmup+2*time.Minute)
				runtime.GC()
				res, err := bench.Measure(ctx, impl, rafttest.Load{Clients: c, Duration: *duration}, *warmup)
				cancel()
				if err != nil {
					return err
				}
				fmt.Fprintf(os.Stderr, "round %d: %s C=%d: %v\n", round+1, impl.Name, c, res)
				k := key{impl.Name, c}
				runs[k] = append(runs[k], res)
			}
		}
	}

	var points []point
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "impl\tC\twrites/s\t(min–max)\tp50\tp99\tworst\t")
	for _, c := range clients {
		for _, impl := range impls {
			rs := runs[key{impl.Name, c}]
			med := median(rs)
			points = append(points, point{impl: impl.Name, clients: c, res: med})
			lo, hi := spread(rs)
			fmt.Fprintf(tw, "%s\t%d\t%.0f\t(%.0f–%.0f)\t%v\t%v\t%v\t\n", impl.Name, c, med.PerSecond(), lo, hi,
				round(med.P50), round(med.P99), round(med.Max))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	if err := printRatios(out, clients, points); err != nil {
		return err
	}
	if !*core {
		return nil
	}
	return runCore(out, clients, *duration, *rounds)
}

// printRatios prints tabraft's figures divided by the others'.
func printRatios(out io.Writer, clients []int, points []point) error {
	fmt.Fprintln(out, "\nratios (writes/s: above 1 means the first is faster; latency: below 1 means the first is quicker)")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "C\tratio\twrites/s\tp50\tp99\t")
	for _, c := range clients {
		for _, pair := range [][2]string{
			{"tabraft", "etcd"}, {"tabraft", "hashicorp"},
		} {
			a, okA := find(points, pair[0], c)
			b, okB := find(points, pair[1], c)
			if !okA || !okB {
				continue
			}
			fmt.Fprintf(tw, "%d\t%s/%s\t%.2f\t%.2f\t%.2f\t\n", c, pair[0], pair[1],
				a.PerSecond()/b.PerSecond(), float64(a.P50)/float64(b.P50), float64(a.P99)/float64(b.P99))
		}
	}
	return tw.Flush()
}

// runCore measures every lockstep implementation with batches of each
// client count and prints writes/s and the ratios to etcd.
func runCore(out io.Writer, batches []int, duration time.Duration, rounds int) error {
	impls := bench.LockstepImpls()
	rates := make(map[key][]float64)
	for round := range rounds {
		for _, batch := range batches {
			for _, impl := range impls {
				l, err := impl.New()
				if err != nil {
					return err
				}
				runtime.GC()
				start := time.Now()
				n, err := bench.DriveLockstep(l, batch, 0, start.Add(duration))
				if err != nil {
					return fmt.Errorf("%s lockstep: %w", impl.Name, err)
				}
				rate := float64(n) / time.Since(start).Seconds()
				fmt.Fprintf(os.Stderr, "round %d: core %s batch=%d: %.0f writes/s\n", round+1, impl.Name, batch, rate)
				rates[key{impl.Name, batch}] = append(rates[key{impl.Name, batch}], rate)
			}
		}
	}
	fmt.Fprintln(out, "\ncores alone: 3 members stepped in lockstep by one goroutine, batches of C writes proposed at once (median writes/s)")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "C\t")
	for _, impl := range impls {
		fmt.Fprintf(tw, "%s\t", impl.Name)
	}
	fmt.Fprintln(tw, "tabraft/etcd\t")
	for _, batch := range batches {
		fmt.Fprintf(tw, "%d\t", batch)
		med := map[string]float64{}
		for _, impl := range impls {
			rs := slices.Clone(rates[key{impl.Name, batch}])
			slices.Sort(rs)
			med[impl.Name] = rs[len(rs)/2]
			fmt.Fprintf(tw, "%.0f\t", med[impl.Name])
		}
		fmt.Fprintf(tw, "%.2f\t\n", med["tabraft"]/med["etcd"])
	}
	return tw.Flush()
}

// median returns, field by field, the median of rs (the upper one for an
// even count), except Max, which is the worst seen. Ops and Elapsed are
// chosen so that PerSecond is the median throughput.
func median(rs []rafttest.Result) rafttest.Result {
	pick := func(less func(a, b rafttest.Result) int) rafttest.Result {
		s := slices.Clone(rs)
		slices.SortFunc(s, less)
		return s[len(s)/2]
	}
	m := pick(func(a, b rafttest.Result) int { return cmp.Compare(a.PerSecond(), b.PerSecond()) })
	m.P50 = pick(func(a, b rafttest.Result) int { return cmp.Compare(a.P50, b.P50) }).P50
	m.P99 = pick(func(a, b rafttest.Result) int { return cmp.Compare(a.P99, b.P99) }).P99
	for _, r := range rs {
		m.Max = max(m.Max, r.Max)
	}
	return m
}

// spread returns the lowest and highest throughput in rs.
func spread(rs []rafttest.Result) (lo, hi float64) {
	lo, hi = rs[0].PerSecond(), rs[0].PerSecond()
	for _, r := range rs[1:] {
		lo, hi = min(lo, r.PerSecond()), max(hi, r.PerSecond())
	}
	return lo, hi
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
		name = strings.TrimSpace(name)
		found := false
		for _, impl := range all {
			if impl.Name == name {
				out = append(out, impl)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown implementation %q", name)
		}
	}
	return out, nil
}

func find(points []point, impl string, clients int) (rafttest.Result, bool) {
	for _, p := range points {
		if p.impl == impl && p.clients == clients {
			return p.res, true
		}
	}
	return rafttest.Result{}, false
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d >= 100*time.Microsecond:
		return d.Round(time.Microsecond)
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
