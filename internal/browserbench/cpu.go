//go:build !js

package browserbench

import (
	"cmp"
	"math"
	"slices"
)

// CPU is the CPU time used during the measured run, in cores (CPU seconds
// per second).
type CPU struct {
	// Cores is the machine's number of cores.
	Cores int `json:"cores"`
	// Machine is the busy cores of the whole machine, every process
	// included (other work on the machine too).
	Machine float64 `json:"machine"`
	// Browser is the cores used by the browser's processes, by Chromium
	// process type (renderer: one per tab, its Go and JavaScript, WebRTC's
	// threads; browser: the IndexedDB backend among others).
	Browser []CPUShare `json:"browser,omitempty"`
	// Error says why Browser is missing.
	Error string `json:"error,omitempty"`
	// Memory is the browser's resident memory at the end, in MiB, by
	// process type; LargestRenderer the largest tab's (with its Go heap).
	Memory          []MemShare `json:"memory,omitempty"`
	LargestRenderer float64    `json:"largestRendererMiB,omitempty"`
}

// CPUShare is the cores used by one type of process.
type CPUShare struct {
	Type  string  `json:"type"`
	Cores float64 `json:"cores"`
}

// MemShare is the resident memory of one type of process.
type MemShare struct {
	Type string  `json:"type"`
	MiB  float64 `json:"mib"`
}

func cpuUse(a, b cpuSample) *CPU {
	secs := b.at.Sub(a.at).Seconds()
	if secs <= 0 {
		return nil
	}
	c := &CPU{Cores: b.cores, Machine: round2((b.busy - a.busy) / secs)}
	if err := cmp.Or(a.procsErr, b.procsErr); err != nil {
		c.Error = err.Error()
		return c
	}
	for typ, v := range b.byType {
		c.Browser = append(c.Browser, CPUShare{Type: typ, Cores: round2((v - a.byType[typ]) / secs)})
	}
	slices.SortFunc(c.Browser, func(x, y CPUShare) int { return cmp.Compare(y.Cores, x.Cores) })
	for typ, v := range b.rssByType {
		c.Memory = append(c.Memory, MemShare{Type: typ, MiB: math.Round(v)})
	}
	slices.SortFunc(c.Memory, func(x, y MemShare) int { return cmp.Compare(y.MiB, x.MiB) })
	if len(b.rssRenderers) > 0 {
		c.LargestRenderer = math.Round(slices.Max(b.rssRenderers))
	}
	return c
}

func round2(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }
