package rtc

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/tabraft/tabraft/raft"
	"github.com/tabraft/tabraft/signaling"
)

func TestMemberIDs(t *testing.T) {
	for _, id := range []raft.NodeID{1, 9, 10, 0xff00, 1<<64 - 1} {
		s := memberID(id)
		if err := signaling.ValidateID(s); err != nil {
			t.Errorf("memberID(%d) = %q: %v", id, s, err)
		}
		if got, ok := parseMemberID(s); !ok || got != id {
			t.Errorf("parseMemberID(%q) = %d, %v; want %d", s, got, ok, id)
		}
	}
	for _, s := range []string{"", "0", "0a", "A", "tab-3f2a", "10000000000000000", "-1", "+1", " 1"} {
		if id, ok := parseMemberID(s); ok {
			t.Errorf("parseMemberID(%q) = %d; want refused", s, id)
		}
	}
}

func TestBackoff(t *testing.T) {
	b := &backoff{base: 100 * time.Millisecond, max: 2 * time.Second, rng: rand.New(rand.NewPCG(1, 1))}
	for attempt := range 12 {
		step := min(b.base<<attempt, b.max)
		for range 50 {
			if d := b.delay(attempt); d < step/2 || d > step {
				t.Fatalf("delay(%d) = %v, want within [%v, %v]", attempt, d, step/2, step)
			}
		}
	}
	if d := b.delay(1000); d > b.max {
		t.Errorf("delay(1000) = %v over max", d)
	}
}

func TestSendQueue(t *testing.T) {
	q := newSendQueue(100)
	frag := func(n int) [][]byte { return [][]byte{make([]byte, n)} }
	if !q.push(frag(150), 150) {
		t.Fatal("a message over the bound is refused by an empty queue")
	}
	if q.fits(1) || q.push(frag(1), 1) {
		t.Fatal("a full queue takes more")
	}
	it, ok := q.pop()
	if !ok || it.n != 150 {
		t.Fatalf("pop = %v, %v", it.n, ok)
	}
	if q.push(frag(1), 1) {
		t.Fatal("bytes popped but not released still count")
	}
	q.release(it.n)
	for i := range 10 {
		if !q.push(frag(10), 10) {
			t.Fatalf("push %d refused", i)
		}
	}
	if q.push(frag(1), 1) {
		t.Fatal("push over the bound accepted")
	}
	if b, n := q.len(); b != 100 || n != 10 {
		t.Fatalf("len = %d bytes, %d messages", b, n)
	}
	it, _ = q.pop()
	q.release(it.n)
	if dropped := q.close(); dropped != 9 {
		t.Fatalf("close dropped %d, want 9", dropped)
	}
	if _, ok := q.pop(); ok || q.push(frag(1), 1) || q.fits(1) {
		t.Fatal("a closed queue still works")
	}
}

// TestRxQueue covers the receive queue of GOOS=js: order, bounds, close.
func TestRxQueue(t *testing.T) {
	q := newRxQueue(100, 40)
	done := make(chan []string)
	go func() {
		var got []string
		for {
			b, err := q.next()
			if err != nil {
				if !errors.Is(err, errRxOverflow) {
					t.Errorf("next: %v, want overflow", err)
				}
				done <- got
				return
			}
			got = append(got, string(b))
		}
	}()
	for i := range 5 {
		q.push([]byte{byte('a' + i)})
	}
	// Fill past the bound while the reader may be behind: it must end
	// with errRxOverflow, after a prefix of what was pushed, in order
	// (what waits when the queue fails is dropped with the connection).
	for range 10 {
		q.push([]byte(strings.Repeat("z", 30)))
	}
	got := strings.Join(<-done, "")
	if !strings.HasPrefix("abcde"+strings.Repeat("z", 300), got) {
		t.Errorf("received %q: not a prefix of what was pushed", got)
	}
	q = newRxQueue(1<<20, 40)
	for i := range 1000 {
		q.push([]byte{byte(i), byte(i >> 8)})
	}
	for i := range 1000 {
		b, err := q.next()
		if err != nil || len(b) != 2 || int(b[0])|int(b[1])<<8 != i {
			t.Fatalf("message %d: %v, %v", i, b, err)
		}
	}

	q = newRxQueue(100, 40)
	q.push(make([]byte, 41))
	if _, err := q.next(); !errors.Is(err, errRxTooBig) {
		t.Errorf("next after a message over maxMsg: %v", err)
	}
	q = newRxQueue(100, 40)
	q.pushTooBig()
	if _, err := q.next(); !errors.Is(err, errRxTooBig) {
		t.Errorf("next after pushTooBig: %v", err)
	}
	q = newRxQueue(100, 40)
	q.push([]byte("x"))
	q.close()
	if _, err := q.next(); !errors.Is(err, errRxClosed) {
		t.Errorf("next after close: %v", err)
	}
	if _, err := q.next(); !errors.Is(err, errRxClosed) {
		t.Errorf("second next after close: %v", err)
	}
}

func TestCoalescer(t *testing.T) {
	c := newCoalescer[PeerEvent]()
	stop := make(chan struct{})
	defer close(stop)
	for i := range 1000 {
		c.raise(1, PeerEvent{ID: 1, Present: i%2 == 0})
		c.raise(2, PeerEvent{ID: 2, Present: true})
	}
	c.raise(1, PeerEvent{ID: 1, Present: false})
	go c.run(stop)
	want := []PeerEvent{{1, false}, {2, true}}
	for _, w := range want {
		select {
		case got := <-c.out:
			if got != w {
				t.Fatalf("got %+v, want %+v", got, w)
			}
		case <-time.After(waitTimeoutUnit):
			t.Fatal("no notice")
		}
	}
	select {
	case got := <-c.out:
		t.Fatalf("extra notice %+v", got)
	default:
	}
	c.raise(2, PeerEvent{ID: 2, Present: false})
	select {
	case got := <-c.out:
		if got != (PeerEvent{2, false}) {
			t.Fatalf("got %+v", got)
		}
	case <-time.After(waitTimeoutUnit):
		t.Fatal("no notice after a delivered one")
	}
}

const waitTimeoutUnit = 10 * time.Second

func TestEnvelopes(t *testing.T) {
	good := []struct {
		typ signaling.Type
		env envelope
	}{
		{signaling.TypeOffer, envelope{Kind: kindOffer, Session: 1, SDP: "v=0"}},
		{signaling.TypeOffer, envelope{Kind: kindHello}},
		{signaling.TypeAnswer, envelope{Kind: kindAnswer, Session: 1, SDP: "v=0"}},
		{signaling.TypeCandidate, envelope{Kind: kindCandidate, Session: 1, Candidates: []candidateInit{{Candidate: "c"}}}},
	}
	for _, g := range good {
		b, _ := json.Marshal(g.env)
		if g.env.relayType() != g.typ {
			t.Errorf("%s travels as %s, want %s", g.env.Kind, g.env.relayType(), g.typ)
		}
		if _, err := parseEnvelope(g.typ, b); err != nil {
			t.Errorf("parse %s: %v", b, err)
		}
	}
	bad := []struct {
		typ  signaling.Type
		data string
	}{
		{signaling.TypeOffer, `"x"`},
		{signaling.TypeOffer, `{"kind":"offer","session":1}`},
		{signaling.TypeOffer, `{"kind":"offer","sdp":"v=0"}`},
		{signaling.TypeAnswer, `{"kind":"offer","session":1,"sdp":"v=0"}`},
		{signaling.TypeOffer, `{"kind":"answer","session":1,"sdp":"v=0"}`},
		{signaling.TypeCandidate, `{"kind":"candidate","session":1}`},
		{signaling.TypeCandidate, `{"kind":"candidate","session":1,"candidates":` + strings.Repeat(`[`, 1) + strings.TrimSuffix(strings.Repeat(`{},`, maxCandidates+1), ",") + `]}`},
		{signaling.TypeAnswer, `{"kind":"hello"}`},
		{signaling.TypeOffer, `{"kind":"bye"}`},
		{signaling.TypeOffer, `{"kind":"offer","session":-1,"sdp":"v=0"}`},
	}
	for _, b := range bad {
		if e, err := parseEnvelope(b.typ, json.RawMessage(b.data)); err == nil {
			t.Errorf("parse %s %s = %+v; want an error", b.typ, b.data, e)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := Config{ID: 1, SignalURL: "ws://x/ws", Room: "r"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxQueueBytes == 0 || c.HighWater <= c.LowWater || c.Logger == nil || c.BackoffBase == 0 {
		t.Errorf("defaults not set: %+v", c)
	}
	for _, bad := range []Config{
		{SignalURL: "ws://x/ws", Room: "r"},
		{ID: 1, Room: "r"},
		{ID: 1, SignalURL: "ws://x/ws", Room: "bad room"},
		{ID: 1, SignalURL: "ws://x/ws", Room: "r", MaxQueueBytes: -1},
		{ID: 1, SignalURL: "ws://x/ws", Room: "r", HighWater: 10, LowWater: 10},
		{ID: 1, SignalURL: "ws://x/ws", Room: "r", BackoffBase: time.Second, BackoffMax: time.Millisecond},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("config %+v accepted", bad)
		}
	}
}
