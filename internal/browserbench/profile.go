//go:build !js

package browserbench

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/profiler"
	"github.com/chromedp/chromedp"
	"github.com/tabraft/tabraft/internal/browsertest"
)

// Profile is where a tab's main thread spent its time during the run,
// from V8's sampling profiler.
type Profile struct {
	// TotalMs is the profile's length; the categories and functions below
	// share it out.
	TotalMs float64 `json:"totalMs"`
	// Categories: idle, Go (wasm), JavaScript of tabraft.js/wasm_exec.js,
	// other JavaScript, the browser's own work ("(program)"), garbage
	// collection.
	Categories []Share `json:"categories"`
	// Packages is the self time of Go code by package.
	Packages []Share `json:"packages"`
	// Top is the functions with the most self time.
	Top []Share `json:"top"`
	// Tabraft is tabraft's own Go functions by total time (their callees
	// included).
	Tabraft []Share `json:"tabraft"`
	// Runtime is the Go runtime's functions by total time: allocation,
	// garbage collection, the scheduler.
	Runtime []Share `json:"runtime"`
}

// Share is a part of the profile.
type Share struct {
	Name string  `json:"name"`
	Ms   float64 `json:"ms"`
	Pct  float64 `json:"pct"`
}

// sampler profiles one tab.
type sampler struct{ t *browsertest.Tab }

// sampleMicros is the sampling interval.
const sampleMicros = 200

func startProfile(t *browsertest.Tab) (*sampler, error) {
	err := browsertest.DoActions(t, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, profiler.Enable, cdp.Empty{}); err != nil {
			return err
		}
		if _, err := chromedp.Call(ctx, profiler.SetSamplingInterval, profiler.SetSamplingIntervalParams{Interval: sampleMicros}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, profiler.Start, cdp.Empty{})
		return err
	}))
	if err != nil {
		return nil, fmt.Errorf("starting the profiler: %w", err)
	}
	return &sampler{t: t}, nil
}

// stop stops the profiler and summarizes the profile with the top
// heaviest functions of each list; it writes the whole profile (Chrome's
// .cpuprofile format) to file unless that is empty.
func (p *sampler) stop(top int, file string) (*Profile, error) {
	var res profiler.StopResult
	err := browsertest.DoActions(p.t, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		var err error
		res, err = chromedp.Call(ctx, profiler.Stop, cdp.Empty{})
		return err
	}))
	if err != nil {
		return nil, fmt.Errorf("stopping the profiler: %w", err)
	}
	if res.Profile == nil {
		return nil, fmt.Errorf("the profiler returned no profile")
	}
	if file != "" {
		raw, err := json.Marshal(res.Profile)
		if err == nil {
			err = os.WriteFile(file, raw, 0o644)
		}
		if err != nil {
			return nil, fmt.Errorf("saving the profile: %w", err)
		}
	}
	return summarize(res.Profile, top), nil
}

// summarize attributes each sample's time to the function it hit (self
// time) and to every function on its stack (total time).
func summarize(prof *profiler.Profile, top int) *Profile {
	byID := map[int64]*profiler.ProfileNode{}
	parent := map[int64]int64{}
	for _, n := range prof.Nodes {
		byID[n.ID] = n
		for _, c := range n.Children {
			parent[c] = n.ID
		}
	}
	self, cat, pkg, incl, rt := map[string]float64{}, map[string]float64{}, map[string]float64{}, map[string]float64{}, map[string]float64{}
	var total float64
	for i, id := range prof.Samples {
		// A sample's time is the delta to the next sample.
		var d float64
		if i+1 < len(prof.TimeDeltas) {
			d = float64(prof.TimeDeltas[i+1]) / 1000
		}
		n := byID[id]
		if n == nil || n.CallFrame == nil {
			continue
		}
		name, c := classify(n)
		self[name] += d
		cat[c] += d
		if c == catGo {
			pkg[goPackage(name)] += d
		}
		total += d
		onStack := map[string]bool{}
		for id, ok := n.ID, true; ok; id, ok = parent[id] {
			if a := byID[id]; a != nil && a.CallFrame != nil && !onStack[a.CallFrame.FunctionName] {
				onStack[a.CallFrame.FunctionName] = true
				switch name := a.CallFrame.FunctionName; {
				case strings.HasPrefix(name, "github.com_tabraft_tabraft"):
					incl[name] += d
				case strings.HasPrefix(name, "runtime.") && isWasm(a.CallFrame.URL):
					rt[name] += d
				}
			}
		}
	}
	out := &Profile{TotalMs: round(total)}
	share := func(m map[string]float64, limit int) []Share {
		var s []Share
		for k, v := range m {
			s = append(s, Share{Name: k, Ms: round(v), Pct: round(100 * v / max(total, 1e-9))})
		}
		slices.SortFunc(s, func(a, b Share) int { return cmp.Or(cmp.Compare(b.Ms, a.Ms), strings.Compare(a.Name, b.Name)) })
		if limit > 0 && len(s) > limit {
			s = s[:limit]
		}
		return s
	}
	out.Categories, out.Packages, out.Top, out.Tabraft = share(cat, 0), share(pkg, top), share(self, top), share(incl, top)
	out.Runtime = share(rt, top)
	return out
}

// goPackage is the package of a Go function as the wasm names it
// ("encoding_json.__decodeState_.object" is in encoding_json).
func goPackage(fn string) string {
	from := 0
	for _, host := range []string{"github.com_", "golang.org_", "gopkg.in_", "nhooyr.io_"} {
		if strings.HasPrefix(fn, host) {
			from = len(host)
		}
	}
	if i := strings.Index(fn[from:], "."); i >= 0 {
		return fn[:from+i]
	}
	return fn
}

// catGo is the category of Go code.
const catGo = "Go (wasm)"

// classify names a profile node's function and its category.
func classify(n *profiler.ProfileNode) (name, category string) {
	f := n.CallFrame
	name = f.FunctionName
	switch name {
	case "(idle)":
		return name, "idle"
	case "(program)":
		return name, "browser (program)"
	case "(garbage collector)":
		return name, "garbage collector (JS heap)"
	case "(root)":
		return name, "other"
	}
	if name == "" {
		name = "(anonymous)"
	}
	url := f.URL
	switch {
	case isWasm(url):
		return name, catGo
	case url == "":
		return name, "browser built-ins"
	}
	file := path.Base(strings.SplitN(url, "?", 2)[0])
	name = fmt.Sprintf("%s (%s:%d)", name, file, f.LineNumber+1)
	switch file {
	case "wasm_exec.js", "tabraft.js":
		return name, "JS glue (" + file + ")"
	}
	return name, "other JavaScript"
}

// isWasm reports whether a frame's URL is the wasm module's.
func isWasm(url string) bool {
	return strings.HasPrefix(url, "wasm://") || strings.HasSuffix(url, ".wasm")
}

func (p *Profile) print(b *strings.Builder) {
	fmt.Fprintf(b, "%.0f ms sampled\n", p.TotalMs)
	for _, s := range p.Categories {
		fmt.Fprintf(b, "  %5.1f%%  %8.1f ms  %s\n", s.Pct, s.Ms, s.Name)
	}
	fmt.Fprintf(b, "Go packages (self time):\n")
	for _, s := range p.Packages {
		fmt.Fprintf(b, "  %5.1f%%  %8.1f ms  %s\n", s.Pct, s.Ms, s.Name)
	}
	fmt.Fprintf(b, "heaviest functions (self time):\n")
	for _, s := range p.Top {
		fmt.Fprintf(b, "  %5.1f%%  %8.1f ms  %s\n", s.Pct, s.Ms, s.Name)
	}
	fmt.Fprintf(b, "tabraft's functions (total time, callees included):\n")
	for _, s := range p.Tabraft {
		fmt.Fprintf(b, "  %5.1f%%  %8.1f ms  %s\n", s.Pct, s.Ms, s.Name)
	}
	fmt.Fprintf(b, "Go runtime's functions (total time, callees included):\n")
	for _, s := range p.Runtime {
		fmt.Fprintf(b, "  %5.1f%%  %8.1f ms  %s\n", s.Pct, s.Ms, s.Name)
	}
	b.WriteString("\n")
}
