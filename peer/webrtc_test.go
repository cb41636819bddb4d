package peer

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tabraft/tabraft/peer/autopilot"
	"github.com/tabraft/tabraft/peer/filelog"
	"github.com/tabraft/tabraft/peer/rtc"
	"github.com/tabraft/tabraft/raft"
	"github.com/tabraft/tabraft/signaling/server"
)

// rtcEnv runs members as native processes would: real WebRTC data channels
// on loopback, introduced by a real signaling server, and a crash-safe log
// on disk.
func rtcEnv(t testing.TB) clusterEnv {
	return clusterEnv{transport: rtcTransports(t), storage: diskStorages(), tick: 10 * time.Millisecond, snapshotEvery: 500}
}

// rtcTransports starts a signaling server and connects members through it.
func rtcTransports(t testing.TB) func(testing.TB, raft.NodeID) Transport {
	s, err := server.New(server.Config{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		hs.Close()
	})
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + server.WebSocketAltPath
	const room = "cluster" // every test has a server of its own
	return func(t testing.TB, id raft.NodeID) Transport {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		tr, err := rtc.New(ctx, rtc.Config{ID: id, SignalURL: url, Room: room, Loopback: true,
			Seed: uint64(id), BackoffBase: 50 * time.Millisecond, BackoffMax: time.Second})
		if err != nil {
			t.Fatalf("transport %d: %v", id, err)
		}
		return tr
	}
}

// diskStorages gives each member a file log in a directory of its own.
func diskStorages() func(testing.TB, raft.NodeID) (Storage, func()) {
	dirs := map[raft.NodeID]string{}
	return func(t testing.TB, id raft.NodeID) (Storage, func()) {
		if dirs[id] == "" {
			dirs[id] = t.TempDir()
		}
		l, err := filelog.Open(dirs[id], filelog.Options{})
		if err != nil {
			t.Fatalf("open log %d: %v", id, err)
		}
		return l, func() { _ = l.Close() }
	}
}

// writeMany writes n distinct cells from writers goroutines and returns
// the keys that were acknowledged.
func (c *liveCluster) writeMany(prefix string, n, writers int) {
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += writers {
				c.write(fmt.Sprintf("%s%d", prefix, i), "v")
			}
		}()
	}
	wg.Wait()
}

func testNativeCluster(t *testing.T, size int) {
	c := newClusterIn(t, size, rtcEnv(t))
	c.leader()
	c.writeMany("a", 10_000, 64)

	// The leader dies; the others carry on; it comes back from its disk.
	lead := c.leader()
	c.stop(lead)
	c.writeMany("b", 500, 16)
	c.start(lead)

	// One member is cut off, misses writes, and catches up when healed.
	victim := c.ids[0]
	if victim == c.leader() {
		victim = c.ids[1]
	}
	c.isolate(victim)
	c.writeMany("c", 500, 16)
	c.heal()
	c.converge(11_000)
}

func TestNativeClusterOf3OverWebRTC(t *testing.T) { testNativeCluster(t, 3) }

func TestNativeClusterOf5OverWebRTC(t *testing.T) { testNativeCluster(t, 5) }

var _ Roster = (*rtc.Transport)(nil) // the room is the autopilot's roster

// TestAutopilotOverWebRTC: members found and join a cluster through a
// real signaling room, the room being the roster; the leader then leaves.
func TestAutopilotOverWebRTC(t *testing.T) {
	connect := rtcTransports(t)
	c := newAPCluster(t, autopilot.Config{TargetVoters: 3, DeadTimeout: 2 * time.Second})
	c.tick = 5 * time.Millisecond
	c.join = func(id raft.NodeID) (Transport, []raft.NodeID) {
		tr := connect(t, id).(*rtc.Transport)
		// The room's member list arrives with the welcome, which New has
		// read; the links are made just after it is counted.
		deadline := time.Now().Add(5 * time.Second)
		for tr.Stats().Joins == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond) // polling interval
		}
		for len(tr.Members()) == 0 && id != 1 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond) // polling interval
		}
		return tr, tr.Members()
	}
	lead := c.grow(3)
	if lead != 1 {
		t.Logf("leader %x", lead)
	}
	w := c.startWriters(4, 8)
	c.waitWrites(w, 200)
	if err := c.leave(lead, 20*time.Second); err != nil {
		t.Fatalf("Leave of the leader: %v", err)
	}
	c.waitConf(20*time.Second, "settled without the old leader", func(cs raft.ConfState) bool {
		return !isMember(cs, lead) && c.settled(cs)
	})
	c.waitWrites(w, 200)
	c.converge(w.halt())
	c.checkConfs(nil)
}
