//go:build !js

package rtc

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/tabraft/tabraft/raft"
)

// exchange has every transport send n messages to every other, all at
// once, and checks that each receives from each sender the sequence 1..n in
// order and nothing else.
func exchange(t *testing.T, n int, ts ...*Transport) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan string, len(ts))
	for _, r := range ts {
		wg.Go(func() {
			next := make(map[raft.NodeID]uint64)
			for range n * (len(ts) - 1) {
				m := recv(t, r)
				if m.To != r.ID() {
					errs <- "misaddressed message delivered"
					return
				}
				if want := next[m.From] + 1; m.Index != want {
					errs <- "out of order: from " + memberID(m.From) + " to " + memberID(r.ID())
					return
				}
				next[m.From] = m.Index
			}
		})
	}
	for _, s := range ts {
		wg.Go(func() {
			for i := 1; i <= n; i++ {
				for _, r := range ts {
					if r != s {
						s.Send(app(s.ID(), r.ID(), uint64(i), []byte("x")))
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	for _, s := range ts {
		for _, p := range s.Stats().Peers {
			if p.Dropped() != 0 {
				t.Errorf("%v → %d: %d messages dropped", s, p.ID, p.Dropped())
			}
		}
	}
}

func TestTwoMembersExchangeInOrder(t *testing.T) {
	url := startSignaling(t)
	room := roomName(t)
	a := start(t, testConfig(url, room, 1))
	b := start(t, testConfig(url, room, 2))
	waitMesh(t, a, b)
	exchange(t, 2000, a, b)

	if got := a.Members(); len(got) != 1 || got[0] != 2 {
		t.Errorf("a.Members() = %v, want [2]", got)
	}
	pa, pb := peerStats(t, a, 2), peerStats(t, b, 1)
	if !pa.Offerer || pb.Offerer {
		t.Errorf("offerer: 1→2 %v, 2→1 %v; want the lower id to offer", pa.Offerer, pb.Offerer)
	}
	if pa.Wire.MessagesSent != 2000 || pb.Wire.MessagesReceived != 2000 {
		t.Errorf("wire counters: a sent %d, b received %d; want 2000", pa.Wire.MessagesSent, pb.Wire.MessagesReceived)
	}
}

func TestThreeMembers(t *testing.T) {
	url := startSignaling(t)
	room := roomName(t)
	ts := []*Transport{
		start(t, testConfig(url, room, 0x30)),
		start(t, testConfig(url, room, 0x10)),
		start(t, testConfig(url, room, 0x20)),
	}
	waitMesh(t, ts...)
	exchange(t, 500, ts...)
	for _, tr := range ts {
		for _, p := range tr.Stats().Peers {
			if p.Opens != 1 || p.Failures != 0 {
				t.Errorf("%v → %d: %d opens, %d failures; want 1 and 0", tr, p.ID, p.Opens, p.Failures)
			}
		}
	}
}

// TestGlare starts members at the same moment, so that each learns of the
// others while they learn of it: exactly one connection per pair opens, at
// the first attempt.
func TestGlare(t *testing.T) {
	url := startSignaling(t)
	room := roomName(t)
	const n = 4
	ts := make([]*Transport, n)
	var wg sync.WaitGroup
	startGate := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-startGate
			ts[i] = start(t, testConfig(url, room, raft.NodeID(i+1)))
		})
	}
	close(startGate)
	wg.Wait()
	if t.Failed() {
		return
	}
	waitMesh(t, ts...)
	for _, tr := range ts {
		for _, p := range tr.Stats().Peers {
			if p.Opens != 1 || p.Failures != 0 {
				t.Errorf("%v → %d: %d opens, %d failures; want 1 and 0", tr, p.ID, p.Opens, p.Failures)
			}
		}
	}
	exchange(t, 100, ts...)
}

// TestLargeMessages sends 1 MB entries (incompressible: 64 fragments
// each) both ways and checks they arrive whole.
func TestLargeMessages(t *testing.T) {
	url := startSignaling(t)
	room := roomName(t)
	a := start(t, testConfig(url, room, 1))
	b := start(t, testConfig(url, room, 2))
	waitMesh(t, a, b)

	rng := rand.New(rand.NewPCG(1, 2))
	const n = 6
	payloads := make([][]byte, n)
	for i := range payloads {
		payloads[i] = make([]byte, 1<<20)
		for j := 0; j < len(payloads[i]); j += 8 {
			v := rng.Uint64()
			for k := range 8 {
				payloads[i][j+k] = byte(v >> (8 * k))
			}
		}
	}
	var wg sync.WaitGroup
	for _, pair := range [][2]*Transport{{a, b}, {b, a}} {
		s, r := pair[0], pair[1]
		wg.Go(func() {
			for i, p := range payloads {
				s.Send(app(s.ID(), r.ID(), uint64(i+1), p))
			}
		})
		wg.Go(func() {
			for i := range n {
				m := recv(t, r)
				if m.Index != uint64(i+1) || len(m.Entries) != 1 || !bytes.Equal(m.Entries[0].Data, payloads[i]) {
					t.Errorf("%v: message %d: index %d, %d entries: not the one sent", r, i+1, m.Index, len(m.Entries))
					return
				}
			}
		})
	}
	wg.Wait()
	p := peerStats(t, a, 2)
	if p.Wire.FragmentsSent < n*64 {
		t.Errorf("a sent %d fragments for %d messages of 1 MiB; want at least %d", p.Wire.FragmentsSent, n, n*64)
	}
}

// TestPeersAndUnknownMembers checks the membership side: Peers events,
// Members, and a Send to a member not in the room.
func TestPeersAndUnknownMembers(t *testing.T) {
	url := startSignaling(t)
	room := roomName(t)
	a := start(t, testConfig(url, room, 1))
	a.Send(app(1, 9, 1, nil))
	waitUnreachable(t, a, 9)
	if got := a.Stats().DroppedNoPeer; got != 1 {
		t.Errorf("DroppedNoPeer = %d, want 1", got)
	}

	b := start(t, testConfig(url, room, 2))
	waitPeerEvent(t, a, PeerEvent{ID: 2, Present: true})
	waitPeerEvent(t, b, PeerEvent{ID: 1, Present: true})
	b.Close()
	waitPeerEvent(t, a, PeerEvent{ID: 2, Present: false})
	if got := a.Members(); len(got) != 0 {
		t.Errorf("a.Members() = %v after b left", got)
	}
}

// New returns with the room's roster: a new member that sees no one may
// found a cluster, so Members must not lag behind the welcome.
func TestNewKnowsTheRoster(t *testing.T) {
	url := startSignaling(t)
	room := roomName(t)
	a := start(t, testConfig(url, room, 1))
	if got := a.Members(); len(got) != 0 {
		t.Errorf("the first member sees %v", got)
	}
	b := start(t, testConfig(url, room, 2))
	if got := b.Members(); !slices.Equal(got, []raft.NodeID{1}) {
		t.Errorf("the second member sees %v on New's return, want [1]", got)
	}
	c := start(t, testConfig(url, room, 3))
	if got := c.Members(); !slices.Equal(got, []raft.NodeID{1, 2}) {
		t.Errorf("the third member sees %v on New's return, want [1 2]", got)
	}
}
