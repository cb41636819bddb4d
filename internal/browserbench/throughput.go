//go:build !js

package browserbench

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/tabraft/tabraft/internal/browsertest"
)

// Throughput is the outcome of the throughput run.
type Throughput struct {
	// Ops is the number of ops committed and resolved in the pages.
	Ops int64 `json:"ops"`
	// Seconds is the run's length, from the first proposal to the last
	// resolution (the slowest tab's).
	Seconds float64 `json:"seconds"`
	// OpsPerSec is Ops / Seconds.
	OpsPerSec float64 `json:"opsPerSec"`
	// Latency is the commit latency of one op: from the proposeBatch call
	// that carried it to the resolution of its Promise, in the page.
	Latency Percentiles `json:"latencyMs"`
	// Errors counts the proposeBatch calls that rejected.
	Errors     int    `json:"errors"`
	FirstError string `json:"firstError,omitempty"`
	// Entries is how far the leader's commit index moved during the run
	// (ops, plus the entries that are not ops).
	Entries uint64 `json:"entries"`
	// LeaderMsgsOut and LeaderMsgsIn are the Raft messages per second the
	// leader sent and received, over the last second of the run.
	LeaderMsgsOut float64 `json:"leaderMsgsOutPerSec"`
	LeaderMsgsIn  float64 `json:"leaderMsgsInPerSec"`
	// PerTab is each tab's share.
	PerTab []TabThroughput `json:"perTab"`
	// CPU is what the machine and the browser used during the run.
	CPU *CPU `json:"cpu,omitempty"`
	// IdleCPU is what they used before the run, the cluster formed and
	// nothing proposed.
	IdleCPU *CPU `json:"idleCpu,omitempty"`
	// Profiles are the tabs' CPU profiles (the leader's first), when asked.
	Profiles []TabProfile `json:"profiles,omitempty"`
}

// TabProfile is one tab's CPU profile.
type TabProfile struct {
	ID      string   `json:"id"`
	Leader  bool     `json:"leader"`
	Profile *Profile `json:"profile"`
}

// TabThroughput is one tab's part of the throughput run.
type TabThroughput struct {
	ID        string      `json:"id"`
	Leader    bool        `json:"leader"`
	Ops       int64       `json:"ops"`
	OpsPerSec float64     `json:"opsPerSec"`
	Latency   Percentiles `json:"latencyMs"`
}

// loadJS runs in a tab: cfg.concurrency loops each propose batches of
// cfg.batch ops of cfg.opSize bytes (the op's JSON) with proposeBatch until
// cfg.ms passed, and report the ops resolved, each batch's latency and the
// errors. Keys cycle through 1024 per tab (the board stays small); values
// are drawn from a pool of random strings, so that the wire's compression
// finds little to gain.
const loadJS = `async (cfg) => {
	const m = tabraftMember;
	const key = i => "b" + cfg.tab + "-" + String(i % 1024).padStart(4, "0");
	const n = cfg.opSize - JSON.stringify({op: "set", key: key(0), val: ""}).length;
	const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const pool = [];
	for (let i = 0; i < 4096; i++) {
		let s = "";
		for (let j = 0; j < n; j++) s += abc[(Math.random() * 64) | 0];
		pool.push(s);
	}
	const lat = [];
	let ops = 0, errors = 0, firstError = "", seq = 0;
	const t0 = performance.now(), end = t0 + cfg.ms;
	const loop = async () => {
		while (performance.now() < end) {
			const batch = new Array(cfg.batch);
			for (let i = 0; i < cfg.batch; i++, seq++) {
				batch[i] = {op: "set", key: key(seq), val: pool[(Math.random() * 4096) | 0]};
			}
			const s = performance.now();
			try {
				const rs = await m.proposeBatch(batch);
				lat.push(performance.now() - s);
				ops += rs.length;
			} catch (e) {
				errors++;
				if (!firstError) firstError = String((e && e.message) || e);
			}
		}
	};
	await Promise.all(Array.from({length: cfg.concurrency}, loop));
	return {ops, ms: performance.now() - t0, lat, errors, firstError};
}`

// loadResult is what loadJS returns.
type loadResult struct {
	Ops        int64
	Ms         float64
	Lat        []float64
	Errors     int
	FirstError string
}

// load runs loadJS in every tab at once for d.
func (b *bench) load(tabs []*tab, d time.Duration) ([]loadResult, error) {
	res := make([]loadResult, len(tabs))
	errs := make([]error, len(tabs))
	var wg sync.WaitGroup
	for i, t := range tabs {
		cfg, err := json.Marshal(map[string]any{
			"tab": i, "ms": d.Milliseconds(), "batch": b.cfg.Batch, "concurrency": b.cfg.Concurrency, "opSize": b.cfg.OpSize,
		})
		if err != nil {
			return nil, err
		}
		wg.Go(func() { res[i], errs[i] = browsertest.EvalErr[loadResult](t.t, "("+loadJS+")("+string(cfg)+")") })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tabs[i].t.Name, err)
		}
	}
	return res, nil
}

// idleSample is how long the idle cluster's CPU use is measured.
const idleSample = 2 * time.Second

// throughput measures the idle cluster's CPU use, runs the warm-up, then
// the measured run.
func (b *bench) throughput(ctx context.Context) (*Throughput, error) {
	leader, err := b.waitFormed(ctx)
	if err != nil {
		return nil, err
	}
	tabs := b.current()
	// The cluster's own cost: ticks, heartbeats, the page.
	idle0 := sampleCPU(b.profileDir)
	idleWait := time.NewTimer(idleSample)
	select {
	case <-idleWait.C:
	case <-ctx.Done():
		idleWait.Stop()
		return nil, ctx.Err()
	}
	idle := cpuUse(idle0, sampleCPU(b.profileDir))
	if b.cfg.Warmup > 0 {
		b.log.Info("warming up", "duration", b.cfg.Warmup)
		if _, err := b.load(tabs, b.cfg.Warmup); err != nil {
			return nil, err
		}
	}
	before, err := statusOf(leader)
	if err != nil {
		return nil, err
	}
	var profs []*sampler
	if b.cfg.Profile {
		for _, t := range tabs {
			p, err := startProfile(t.t)
			if err != nil {
				return nil, err
			}
			profs = append(profs, p)
		}
	}
	b.log.Info("measuring throughput", "duration", b.cfg.Duration, "batch", b.cfg.Batch, "concurrency", b.cfg.Concurrency)
	cpu0 := sampleCPU(b.profileDir)
	res, err := b.load(tabs, b.cfg.Duration)
	if err != nil {
		return nil, err
	}
	// The rates cover the last second: read them before the load's end
	// ages out of them.
	last, err := statusOf(leader)
	if err != nil {
		return nil, err
	}
	out := &Throughput{CPU: cpuUse(cpu0, sampleCPU(b.profileDir)), IdleCPU: idle,
		LeaderMsgsOut: last.MsgsOutPerSec, LeaderMsgsIn: last.MsgsInPerSec}
	top := cmp.Or(b.cfg.ProfileTop, DefaultProfileTop)
	if b.cfg.ProfileDir != "" {
		if err := os.MkdirAll(b.cfg.ProfileDir, 0o755); err != nil {
			return nil, err
		}
	}
	for i, p := range profs {
		var file string
		if b.cfg.ProfileDir != "" {
			file = filepath.Join(b.cfg.ProfileDir, tabs[i].id+".cpuprofile")
		}
		prof, err := p.stop(top, file)
		if err != nil {
			return nil, err
		}
		tp := TabProfile{ID: tabs[i].id, Leader: tabs[i] == leader, Profile: prof}
		if tp.Leader {
			out.Profiles = slices.Insert(out.Profiles, 0, tp)
		} else {
			out.Profiles = append(out.Profiles, tp)
		}
	}
	after, err := statusOf(leader)
	if err != nil {
		return nil, err
	}
	if after.Term == before.Term {
		out.Entries = after.Commit - before.Commit
	}
	var all []float64
	for i, r := range res {
		out.Ops += r.Ops
		out.Seconds = max(out.Seconds, r.Ms/1000)
		out.Errors += r.Errors
		if out.FirstError == "" {
			out.FirstError = r.FirstError
		}
		all = append(all, r.Lat...)
		tt := TabThroughput{ID: tabs[i].id, Leader: tabs[i] == leader, Ops: r.Ops, Latency: percentiles(r.Lat)}
		if r.Ms > 0 {
			tt.OpsPerSec = float64(r.Ops) / (r.Ms / 1000)
		}
		out.PerTab = append(out.PerTab, tt)
	}
	if out.Seconds > 0 {
		out.OpsPerSec = float64(out.Ops) / out.Seconds
	}
	// Every batch has the same size: the batches' latencies are the ops'.
	out.Latency = percentiles(all)
	slices.SortFunc(out.PerTab, func(a, b TabThroughput) int {
		switch {
		case a.Leader != b.Leader && a.Leader:
			return -1
		case a.Leader != b.Leader:
			return 1
		}
		return 0
	})
	return out, nil
}
