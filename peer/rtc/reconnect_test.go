//go:build !js

package rtc

import (
	"testing"

	"github.com/tabraft/tabraft/raft"
)

// TestMemberRestarts closes one member of a pair and starts it again with
// the same id: the other reports it unreachable and gone, drops what is
// sent to it meanwhile, and connects to the new incarnation. Both roles are
// tried: the restarted member offers (id 1) or answers (id 2).
func TestMemberRestarts(t *testing.T) {
	for _, victim := range []raft.NodeID{1, 2} {
		t.Run("restart-"+memberID(victim), func(t *testing.T) {
			url := startSignaling(t)
			room := roomName(t)
			survivorID := 3 - victim
			survivor := start(t, testConfig(url, room, survivorID))
			v := start(t, testConfig(url, room, victim))
			waitMesh(t, survivor, v)
			exchange(t, 50, survivor, v)

			v.Close()
			waitUnreachable(t, survivor, victim)
			waitPeerEvent(t, survivor, PeerEvent{ID: victim, Present: false})
			survivor.Send(app(survivorID, victim, 1, nil))
			waitUnreachable(t, survivor, victim)

			v2 := start(t, testConfig(url, room, victim))
			waitPeerEvent(t, survivor, PeerEvent{ID: victim, Present: true})
			waitMesh(t, survivor, v2)
			exchange(t, 200, survivor, v2)
		})
	}
}

// TestConnectionLoss breaks the connection of a pair that stays in the
// room (the peer connection closes under one side, as on a network
// failure): both report the other unreachable, and the pair reconnects by
// itself, through a retry of the offering side or a hello of the answering
// side, whichever comes first.
func TestConnectionLoss(t *testing.T) {
	for _, breaker := range []raft.NodeID{1, 2} {
		t.Run("break-at-"+memberID(breaker), func(t *testing.T) {
			url := startSignaling(t)
			room := roomName(t)
			a := start(t, testConfig(url, room, 1))
			b := start(t, testConfig(url, room, 2))
			waitMesh(t, a, b)
			exchange(t, 20, a, b)

			by, other := a, b
			if breaker == 2 {
				by, other = b, a
			}
			s := by.linkOf(other.ID()).liveSession()
			if s == nil {
				t.Fatal("no open session")
			}
			s.pc.close()
			waitUnreachable(t, by, other.ID())
			waitUnreachable(t, other, by.ID())
			waitFor(t, "a second connection", func() bool {
				return peerStats(t, a, 2).Opens == 2 && peerStats(t, b, 1).Opens == 2
			})
			waitMesh(t, a, b)
			exchange(t, 100, a, b)
			for _, p := range []PeerStats{peerStats(t, a, 2), peerStats(t, b, 1)} {
				if p.Reconnects() != 1 || p.Failures == 0 {
					t.Errorf("link to %d: %d reconnects, %d failures; want 1 and some", p.ID, p.Reconnects(), p.Failures)
				}
			}
		})
	}
}

// TestSignalingLost drops one member's signaling connection: it ends its
// links (the other sees it leave), dials again, rejoins, and the pair
// reconnects.
func TestSignalingLost(t *testing.T) {
	url := startSignaling(t)
	room := roomName(t)
	a := start(t, testConfig(url, room, 1))
	b := start(t, testConfig(url, room, 2))
	waitMesh(t, a, b)

	b.mu.Lock()
	c := b.sig
	b.mu.Unlock()
	c.CloseNow()
	waitUnreachable(t, a, 2)
	waitUnreachable(t, b, 1)
	waitFor(t, "b to rejoin", func() bool { s := b.Stats(); return s.Joins == 2 && s.Signaling })
	waitMesh(t, a, b)
	exchange(t, 100, a, b)
}
