//go:build !js

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tabraft/tabraft/internal/browsertest"
	"github.com/tabraft/tabraft/peer"
	"github.com/tabraft/tabraft/peer/board"
	"github.com/tabraft/tabraft/peer/filelog"
	"github.com/tabraft/tabraft/raft"
)

// TestNativePeerJoins runs a native tabraft-peer (pion, disk storage, its
// ICE candidates on the machine's non-loopback interfaces) in the room of
// two tabs: it is added to the cluster and becomes its third voter; after
// writes from both tabs the leader sees the peer's log match its own, and
// the peer's log, replayed from its data directory once it stopped, makes
// the tabs' board.
func TestNativePeerJoins(t *testing.T) {
	c := newCluster(t)
	bin := filepath.Join(t.TempDir(), "tabraft-peer")
	if err := browsertest.GoBuild("./cmd/tabraft-peer", bin); err != nil {
		t.Fatal(err)
	}
	ms := c.openN(2)
	browsertest.WaitFor(t, formTimeout, "the two tabs follow one leader", func() (bool, error) {
		return true, agreeOnLeader(ms, "")
	})

	nid := peer.RandomID()
	np := startPeer(t, bin, "-signal", c.srv.WebSocketURL(), "-room", c.room, "-data", t.TempDir(), "-id", peer.FormatID(nid))
	native := peer.FormatID(nid)
	t.Logf("native member %s started", native)
	c.waitFormed(ms, native)

	writes := [][]kv{cellsOf(0, 0, 30), cellsOf(1, 0, 30)}
	cells := c.writeAll(ms, writes, nil)
	c.waitAgree(ms, cells)
	ver := waitMatched(t, c, ms, native)

	// The peer learns that the last write committed from a later message
	// of the leader: after one more write has reached its log, its stored
	// commit index covers every write above.
	sentinel := kv{Key: "31,19", Val: "#1d1d1f"}
	final := c.writeAll(ms[:1], [][]kv{{sentinel}}, cells)
	c.waitAgree(ms, final)
	waitMatched(t, c, ms, native)
	np.stop(t)

	b := replay(t, np.data, nid)
	switch {
	case b.Version() == ver+1 && maps.Equal(b.Cells(), final):
	case b.Version() == ver && maps.Equal(b.Cells(), cells):
	default:
		t.Errorf("the native member's log replays to %d cells at version %d; the tabs have %d cells at version %d (%d before the last write)",
			len(b.Cells()), b.Version(), len(final), ver+1, ver)
	}
	t.Logf("the native member's log replays to the tabs' board: %d cells, version %d", len(b.Cells()), b.Version())
}

// waitMatched waits until the leader (one of the tabs ms) has committed its
// whole log and sees the native member's log match it; it returns the
// tabs' board version.
func waitMatched(t *testing.T, c *cluster, ms []*member, native string) uint64 {
	t.Helper()
	var ver uint64
	browsertest.WaitFor(t, agreeTimeout, "the leader sees the native member's log match its own", func() (bool, error) {
		for _, m := range ms {
			s, err := statusOf(m)
			if err != nil || s.Role != "leader" {
				continue
			}
			p, ok := s.Progress[native]
			switch {
			case !ok:
				return false, fmt.Errorf("the leader has no progress for %s", native)
			case p.Match != s.LastIndex || s.Commit != s.LastIndex:
				return false, fmt.Errorf("leader %s: last index %d, commit %d, the native member's match %d", s.ID, s.LastIndex, s.Commit, p.Match)
			}
			ver = s.Version
			return true, nil
		}
		return false, fmt.Errorf("no tab leads")
	})
	return ver
}

// nativePeer is a running tabraft-peer.
type nativePeer struct {
	cmd  *exec.Cmd
	data string
	done chan struct{}
	logs *syncBuffer
}

// startPeer runs the tabraft-peer binary bin with args (which name its
// data directory with -data); it is killed when t ends if still running,
// and its logs are reported if t failed.
func startPeer(t *testing.T, bin string, args ...string) *nativePeer {
	t.Helper()
	np := &nativePeer{cmd: exec.Command(bin, args...), done: make(chan struct{}), logs: &syncBuffer{}}
	for i, a := range args {
		if a == "-data" && i+1 < len(args) {
			np.data = args[i+1]
		}
	}
	np.cmd.Stdout, np.cmd.Stderr = np.logs, np.logs
	if err := np.cmd.Start(); err != nil {
		t.Fatalf("starting tabraft-peer: %v", err)
	}
	go func() {
		_ = np.cmd.Wait()
		close(np.done)
	}()
	t.Cleanup(func() {
		select {
		case <-np.done:
		default:
			_ = np.cmd.Process.Kill()
			<-np.done
		}
		if t.Failed() {
			t.Logf("tabraft-peer's log:\n%s", np.logs.String())
		}
	})
	return np
}

// stop ends the peer with SIGTERM and waits for it to exit.
func (np *nativePeer) stop(t *testing.T) {
	t.Helper()
	if err := np.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("stopping tabraft-peer: %v", err)
	}
	select {
	case <-np.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("tabraft-peer did not exit within 20 s of SIGTERM")
	}
	if code := np.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("tabraft-peer exited with status %d", code)
	}
}

// replay starts a member on a native member's data directory, alone,
// waits until it applied what its storage says is committed, and returns
// its board.
func replay(t *testing.T, dir string, id raft.NodeID) *board.Board {
	t.Helper()
	store, err := filelog.Open(dir, filelog.Options{})
	if err != nil {
		t.Fatalf("opening the native member's log: %v", err)
	}
	defer store.Close()
	hs, _, err := store.InitialState()
	if err != nil {
		t.Fatal(err)
	}
	b := board.New()
	node, err := peer.Start(context.Background(), peer.Config{
		Raft:         raft.Config{ID: id},
		Storage:      store,
		Transport:    peer.NewMemNetwork(16).Join(id),
		StateMachine: b,
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("replaying the native member's log: %v", err)
	}
	browsertest.WaitFor(t, agreeTimeout, fmt.Sprintf("the replay applies the stored commit index %d", hs.Commit), func() (bool, error) {
		st, err := node.Status(context.Background())
		return err == nil && st.Applied >= hs.Commit, err
	})
	node.Stop()
	<-node.Done() // the board is the node's until it is done
	return b
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
