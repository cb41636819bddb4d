//go:build !js

package browserbench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/tabraft/tabraft/internal/browsertest"
)

// Failover is the outcome of the failover trials. Times run from the
// moment the leader's tab is closed (or crashed) to what another tab, which
// proposes all along, sees.
type Failover struct {
	Mode   string `json:"mode"`
	Trials int    `json:"trials"`
	// NewLeader: the proposing tab's member knows a leader in a later term.
	NewLeader Percentiles `json:"newLeaderMs"`
	// Commit: the first write of a later term is applied in the proposing
	// tab, which proposes a write every OpenLoopMs without waiting for the
	// ones before (open loop): when the cluster can commit again.
	Commit Percentiles `json:"commitMs"`
	// Sequential: the same for a loop in that tab that proposes one write
	// after the other (closed loop): what a single writer waits.
	Sequential Percentiles `json:"sequentialMs"`
	// CommitSamples and SequentialSamples are the trials' times, in order.
	CommitSamples     []float64 `json:"commitSamplesMs"`
	SequentialSamples []float64 `json:"sequentialSamplesMs"`
	// ProposeErrors counts the writes of both loops that were rejected
	// (after the member's own retries and timeout).
	ProposeErrors int `json:"proposeErrors"`
	// StaleVoters counts the trials after which the closed leader was still
	// a voter RemovalWait later (its leave did not complete and nothing
	// removed it): the next trial then ran in a new room of new tabs, since
	// a dead voter would make the next failover need it.
	StaleVoters int `json:"staleVoters"`
}

// OpenLoopMs is the open loop's period.
const OpenLoopMs = 5

// RemovalWait is how long the closed leader may stay a voter before the
// next trial starts over in a new room: a member that left is removed at
// once, a silent one after peer/autopilot's default dead timeout (5 s).
const RemovalWait = 7 * time.Second

// proposeLoopJS starts, in a tab, two writers: a closed loop proposing one
// write after the other, and an open loop proposing a write every
// OpenLoopMs. It records the arrival time (performance.timeOrigin + now, a
// clock the tabs share with the machine's) and term of each applied write
// of either, and of each role event.
const proposeLoopJS = `((period) => {
	const m = tabraftMember;
	const now = () => performance.timeOrigin + performance.now();
	const fo = window.__fo = {run: true, n: 0, errors: 0, lastError: "", seq: [], open: [], roles: [], inflight: 0};
	const failed = e => { fo.errors++; fo.lastError = String((e && e.message) || e); };
	fo.unsub = [
		m.on("applied", e => {
			if (e.op && e.op.key === "failover-seq") fo.seq.push([now(), e.term]);
			if (e.op && e.op.key === "failover-open") fo.open.push([now(), e.term]);
		}),
		m.on("role", e => fo.roles.push([now(), e.term, e.leader])),
	];
	fo.loop = (async () => {
		let i = 0;
		while (fo.run) {
			try {
				await m.propose({op: "set", key: "failover-seq", val: String(i++)});
				fo.n++;
			} catch (e) {
				failed(e);
			}
		}
	})();
	let j = 0;
	fo.timer = setInterval(() => {
		fo.inflight++;
		m.propose({op: "set", key: "failover-open", val: String(j++)}).catch(failed).finally(() => fo.inflight--);
	}, period);
})(%d)`

// seenJS returns when the proposing tab first saw, after term, a leader
// and a write of each loop applied (0 when not yet).
const seenJS = `((term) => {
	const fo = window.__fo;
	const first = (a) => { const x = a.find(x => x[1] > term); return x ? x[0] : 0; };
	const r = fo.roles.find(x => x[1] > term && x[2] !== "");
	return {n: fo.n, seq: first(fo.seq), open: first(fo.open), leader: r ? r[0] : 0, errors: fo.errors, lastError: fo.lastError};
})(%d)`

// stopLoopJS stops both writers and waits for their writes to settle.
const stopLoopJS = `(async () => {
	const fo = window.__fo;
	fo.run = false;
	clearInterval(fo.timer);
	await fo.loop;
	while (fo.inflight > 0) await new Promise(r => setTimeout(r, 10));
	for (const u of fo.unsub) u();
	return fo.errors;
})()`

type seen struct {
	N         int
	Seq       float64
	Open      float64
	Leader    float64
	Errors    int
	LastError string
}

// trialTimeout bounds one trial's wait for writes in a new term.
const trialTimeout = 20 * time.Second

// trialResult is one trial's times, in milliseconds.
type trialResult struct {
	leader, open, seq float64
	errors            int
	stale             bool
}

// failover runs the trials.
func (b *bench) failover(ctx context.Context) (*Failover, error) {
	out := &Failover{Mode: b.cfg.Failover, Trials: b.cfg.Trials}
	var leaders []float64
	for i := range b.cfg.Trials {
		r, err := b.trial(ctx)
		out.ProposeErrors += r.errors
		if err != nil {
			return out, fmt.Errorf("trial %d: %w", i+1, err)
		}
		b.log.Info("failover trial", "trial", i+1, "new_leader_ms", round(r.leader), "commit_ms", round(r.open),
			"sequential_ms", round(r.seq), "rejected", r.errors, "closed_leader_still_voter", r.stale)
		leaders = append(leaders, r.leader)
		out.CommitSamples = append(out.CommitSamples, round(r.open))
		out.SequentialSamples = append(out.SequentialSamples, round(r.seq))
		out.NewLeader, out.Commit, out.Sequential = percentiles(leaders), percentiles(out.CommitSamples), percentiles(out.SequentialSamples)
		if r.stale {
			out.StaleVoters++
			if i+1 < b.cfg.Trials {
				if err := b.newRoom(ctx); err != nil {
					return out, err
				}
			}
		}
	}
	return out, nil
}

// newRoom closes every tab and forms a new cluster of new tabs in a new
// room.
func (b *bench) newRoom(ctx context.Context) error {
	b.closeAll()
	b.room = fmt.Sprintf("bench-%08x", rand.Uint32())
	b.log.Info("starting over in a new room", "room", b.room)
	for range b.cfg.Tabs {
		if _, err := b.open(ctx); err != nil {
			return err
		}
	}
	_, err := b.waitFormed(ctx)
	return err
}

// trial closes the leader's tab while another tab proposes, measures, and
// opens a new tab in its place once the closed leader is out of the
// configuration.
func (b *bench) trial(ctx context.Context) (res trialResult, err error) {
	leader, err := b.waitFormed(ctx)
	if err != nil {
		return res, err
	}
	var prop *tab
	for _, t := range b.current() {
		if t != leader {
			prop = t
			break
		}
	}
	st, err := statusOf(leader)
	if err != nil {
		return res, err
	}
	if _, err := browsertest.EvalErr[chromedp.Void](prop.t, fmt.Sprintf(proposeLoopJS, OpenLoopMs)); err != nil {
		return res, err
	}
	defer func() {
		n, serr := browsertest.EvalErr[int](prop.t, stopLoopJS)
		res.errors = n
		if err == nil && serr != nil {
			err = fmt.Errorf("stopping the writers: %w", serr)
		}
	}()
	if err := browsertest.Poll(trialTimeout, "the proposing loop commits", func() (bool, error) {
		s, err := browsertest.EvalErr[seen](prop.t, fmt.Sprintf(seenJS, st.Term))
		return s.N >= 5, err
	}); err != nil {
		return res, err
	}
	offset, err := clockOffset(prop.t)
	if err != nil {
		return res, err
	}
	start := time.Now()
	if b.cfg.Failover == "crash" {
		crash(leader.t)
	} else {
		leader.t.Close()
	}
	closed := ms(start) + offset
	var s seen
	err = browsertest.Poll(trialTimeout, "writes of both loops committed in a later term", func() (bool, error) {
		var err error
		s, err = browsertest.EvalErr[seen](prop.t, fmt.Sprintf(seenJS, st.Term))
		return s.Seq > 0 && s.Open > 0 && s.Leader > 0, err
	})
	b.drop(leader)
	if err != nil {
		return res, fmt.Errorf("%w (writes rejected: %d, last: %s)", err, s.Errors, s.LastError)
	}
	res.leader, res.open, res.seq = s.Leader-closed, s.Open-closed, s.Seq-closed
	// The closed leader must leave the configuration before a new tab
	// replaces it: a dead voter would count against the next quorum.
	rest := b.current()
	err = browsertest.Poll(RemovalWait, "the closed leader is out of the configuration", func() (bool, error) {
		for _, t := range rest {
			s, err := statusOf(t)
			if err == nil && s.Role == "leader" {
				return !slices.Contains(s.Voters, leader.id) && !slices.Contains(s.Learners, leader.id), nil
			}
		}
		return false, nil
	})
	if err != nil {
		res.stale = true
		return res, nil
	}
	_, err = b.open(ctx)
	return res, err
}

// clockOffset is the tab's clock (performance.timeOrigin + now) minus
// this process's wall clock, in milliseconds, to within half the fastest of
// a few round trips.
func clockOffset(t *browsertest.Tab) (float64, error) {
	best := time.Duration(-1)
	var offset float64
	for range 5 {
		before := time.Now()
		v, err := browsertest.EvalErr[float64](t, `performance.timeOrigin + performance.now()`)
		if err != nil {
			return 0, err
		}
		rtt := time.Since(before)
		if best < 0 || rtt < best {
			best = rtt
			offset = v - ms(before.Add(rtt/2))
		}
	}
	return offset, nil
}

func ms(t time.Time) float64 { return float64(t.UnixMicro()) / 1000 }

// crash kills the tab's renderer: the page gets no pagehide, its member
// just goes silent. The command never gets an answer (the renderer is
// gone): it is sent from a goroutine that ends when the tab is closed.
func crash(t *browsertest.Tab) {
	go func() {
		_ = browsertest.DoActions(t, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, page.Crash, cdp.Empty{})
			return err
		}))
	}()
}
