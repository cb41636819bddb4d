//go:build !js

package browserbench

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/profiler"
	"github.com/chromedp/cdproto/runtime"
)

func TestPercentiles(t *testing.T) {
	if got := percentiles(nil); got != (Percentiles{}) {
		t.Errorf("percentiles(nil) = %+v, want zero", got)
	}
	var s []float64
	for i := 100; i >= 1; i-- { // 1..100, reversed: percentiles sorts
		s = append(s, float64(i))
	}
	got := percentiles(s)
	want := Percentiles{N: 100, P50: 50, P99: 99, Max: 100}
	if got != want {
		t.Errorf("percentiles(1..100) = %+v, want %+v", got, want)
	}
	// Nearest rank: with 20 samples the p99 is the largest.
	got = percentiles(s[80:])
	if got.P99 != 20 || got.P50 != 10 {
		t.Errorf("percentiles(1..20) = %+v, want p50 10, p99 20", got)
	}
}

func TestValidate(t *testing.T) {
	ok := Config{Tabs: 3, Duration: 1, Batch: 1, Concurrency: 1, OpSize: 128, Trials: 1, Failover: "close"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
	for name, mod := range map[string]func(*Config){
		"no tabs":          func(c *Config) { c.Tabs = 0 },
		"failover, 2 tabs": func(c *Config) { c.Tabs = 2 },
		"zero batch":       func(c *Config) { c.Batch = 0 },
		"tiny ops":         func(c *Config) { c.OpSize = 10 },
		"mode":             func(c *Config) { c.Failover = "kill" },
		"negative trials":  func(c *Config) { c.Trials = -1 },
	} {
		c := ok
		mod(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestGoPackage(t *testing.T) {
	for fn, want := range map[string]string{
		"encoding_json.__decodeState_.object":                            "encoding_json",
		"github.com_klauspost_compress_zstd.__fastEncoder_.EncodeNoHist": "github.com_klauspost_compress_zstd",
		"github.com_tabraft_tabraft_peer.__Node_.handleReady":            "github.com_tabraft_tabraft_peer",
		"runtime.mallocgc": "runtime",
		"memchr":           "memchr",
	} {
		if got := goPackage(fn); got != want {
			t.Errorf("goPackage(%q) = %q, want %q", fn, got, want)
		}
	}
}

func TestProduct(t *testing.T) {
	ua := "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36"
	if got := product(ua); got != "HeadlessChrome/156.0.0.0" {
		t.Errorf("product = %q", got)
	}
}

// TestSummarize checks self and total times on a small profile: root →
// A (Go) → B (Go), root → idle.
func TestSummarize(t *testing.T) {
	frame := func(name, url string) *runtime.CallFrame {
		return &runtime.CallFrame{FunctionName: name, URL: url}
	}
	prof := &profiler.Profile{
		Nodes: []*profiler.ProfileNode{
			{ID: 1, CallFrame: frame("(root)", ""), Children: []int64{2, 4}},
			{ID: 2, CallFrame: frame("github.com_tabraft_tabraft_peer.__Node_.run", "wasm://wasm/x"), Children: []int64{3}},
			{ID: 3, CallFrame: frame("encoding_json.checkValid", "wasm://wasm/x")},
			{ID: 4, CallFrame: frame("(idle)", "")},
		},
		// The time of sample i is the delta before sample i+1.
		Samples:    []int64{3, 3, 2, 4},
		TimeDeltas: []int64{0, 1000, 1000, 2000},
	}
	p := summarize(prof, 10)
	if p.TotalMs != 4 {
		t.Errorf("total %v ms, want 4", p.TotalMs)
	}
	cats := map[string]float64{}
	for _, c := range p.Categories {
		cats[c.Name] = c.Ms
	}
	if cats[catGo] != 4 || cats["idle"] != 0 {
		t.Errorf("categories %v: want Go 4 ms, idle 0 (its sample is the last, with no time after it)", p.Categories)
	}
	if len(p.Tabraft) != 1 || p.Tabraft[0].Ms != 4 {
		t.Errorf("tabraft's total times %v: want Node.run with 4 ms (its callee's included)", p.Tabraft)
	}
	if len(p.Packages) == 0 || p.Packages[0].Name != "encoding_json" || p.Packages[0].Ms != 2 {
		t.Errorf("packages %v: want encoding_json first with 2 ms", p.Packages)
	}
}

func TestPrint(t *testing.T) {
	r := &Report{
		Config:     ConfigSummary{Tabs: 3, Page: "bare", Batch: 128, Concurrency: 4, OpSize: 128},
		Browser:    "HeadlessChrome/156",
		Throughput: &Throughput{Ops: 100, Seconds: 1, OpsPerSec: 25000, PerTab: []TabThroughput{{ID: "a", Leader: true}}},
		Failover:   &Failover{Mode: "close", Commit: Percentiles{N: 20, P99: 1500}},
	}
	var b strings.Builder
	if err := r.Print(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"25000", "target 20000 writes/s: met", "target p99 < 1000 ms (first write committed): NOT met", "a (leader)"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

// TestSummarizeRuntime: the Go runtime's functions get total times, their
// callees included; JavaScript functions of the same name do not count.
func TestSummarizeRuntime(t *testing.T) {
	frame := func(name, url string) *runtime.CallFrame {
		return &runtime.CallFrame{FunctionName: name, URL: url}
	}
	prof := &profiler.Profile{
		Nodes: []*profiler.ProfileNode{
			{ID: 1, CallFrame: frame("(root)", ""), Children: []int64{2, 4}},
			{ID: 2, CallFrame: frame("runtime.mallocgc", "wasm://wasm/x"), Children: []int64{3}},
			{ID: 3, CallFrame: frame("runtime.memclrNoHeapPointers", "wasm://wasm/x")},
			{ID: 4, CallFrame: frame("runtime.nanotime1", "http://h/wasm_exec.js")},
		},
		Samples:    []int64{2, 3, 4, 1},
		TimeDeltas: []int64{0, 1000, 1000, 1000},
	}
	p := summarize(prof, 10)
	got := map[string]float64{}
	for _, s := range p.Runtime {
		got[s.Name] = s.Ms
	}
	want := map[string]float64{"runtime.mallocgc": 2, "runtime.memclrNoHeapPointers": 1}
	if len(got) != len(want) || got["runtime.mallocgc"] != 2 || got["runtime.memclrNoHeapPointers"] != 1 {
		t.Errorf("runtime's total times %v, want %v", got, want)
	}
}
