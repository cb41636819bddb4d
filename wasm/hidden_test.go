package wasm

import (
	"testing"
	"time"
)

// TestHiddenPolicy: a hand-over when the tab becomes hidden, none when it
// becomes visible; one per HiddenMinGap at most; after HiddenMaxTries in a
// row while hidden, none until the tab was visible again.
func TestHiddenPolicy(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var p hiddenPolicy
	if p.visibility(false, t0) {
		t.Fatal("a visible tab hands over")
	}
	if _, ok := p.becameLeader(t0); ok {
		t.Fatal("a visible tab's new leader hands over")
	}
	if !p.visibility(true, t0) {
		t.Fatal("no hand-over when the tab becomes hidden")
	}
	if p.visibility(true, t0.Add(time.Second)) {
		t.Fatal("a second hidden event hands over again")
	}
	wait, ok := p.becameLeader(t0.Add(time.Second))
	if !ok || wait < time.Second {
		t.Fatalf("leader again 1 s after a hand-over: wait %v, ok %v; want at least the rest of %v", wait, ok, HiddenMinGap)
	}
	if p.start(t0.Add(time.Second)) {
		t.Fatal("a hand-over within HiddenMinGap of the last")
	}
	at := t0.Add(HiddenMinGap)
	for i := 1; i < HiddenMaxTries; i++ {
		if !p.start(at) {
			t.Fatalf("hand-over %d refused", i+1)
		}
		at = at.Add(HiddenMinGap)
	}
	if _, ok := p.becameLeader(at); ok {
		t.Fatalf("still handing over after %d tries", HiddenMaxTries)
	}
	if p.start(at) {
		t.Fatalf("a hand-over after %d tries", HiddenMaxTries)
	}
	p.visibility(false, at)
	if !p.visibility(true, at.Add(HiddenMinGap)) {
		t.Fatal("no hand-over when hidden again after being visible")
	}
}

// TestHiddenWatch: the leader of a hidden tab hands over and stays a
// voter; once every member is hidden, leadership settles on one of them.
func TestHiddenWatch(t *testing.T) {
	_, ms := cluster(t, 3, nil)
	ws := make([]*HiddenWatch, len(ms))
	for i, m := range ms {
		ws[i] = WatchHidden(m, testLogger(t))
		t.Cleanup(ws[i].Close)
	}
	ws[1].SetHidden(true) // a follower: nothing happens
	ws[0].SetHidden(true)
	waitFor(t, "another member leads", func() bool {
		st := status(t, ms[1])
		return st.Leader != "" && st.Leader != "1"
	})
	propose(t, ms[0], set("after", "hidden"))
	ws[2].SetHidden(true)
	// Every member is hidden: each hands over at most HiddenMaxTries
	// times, then leadership stays.
	var lead string
	var since time.Time
	waitFor(t, "leadership settles with every tab hidden", func() bool {
		st := status(t, ms[0])
		if st.Leader == "" || st.Leader != lead {
			lead, since = st.Leader, time.Now()
		}
		return time.Since(since) > 3*HiddenMinGap
	})
	propose(t, ms[1], set("all", "hidden"))
}
