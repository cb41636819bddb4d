package peer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"testing"

	"github.com/tabraft/tabraft/peer/board"
	"github.com/tabraft/tabraft/raft"
)

// TestProposeBatchResultsInOrder: a follower's batch is applied in order,
// contiguously, and each command gets its own result.
func TestProposeBatchResultsInOrder(t *testing.T) {
	c := newLiveCluster(t, 3)
	lead := c.leader()
	var via raft.NodeID
	for _, id := range c.ids {
		if id != lead {
			via = id
			break
		}
	}
	const n = 300
	cmds := make([][]byte, n)
	for i := range cmds {
		cmds[i] = board.Op{Kind: "set", Key: "k", Value: fmt.Sprint(i)}.Encode()
	}
	cmds[7] = []byte("not an op") // the board answers it with an error, in place
	var vals []any
	for attempt := 0; ; attempt++ {
		var err error
		vals, err = c.nodes[via].ProposeBatch(context.Background(), cmds)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrNoLeader) || attempt > 100 {
			t.Fatalf("ProposeBatch: %v", err)
		}
	}
	if len(vals) != n {
		t.Fatalf("%d results for %d commands", len(vals), n)
	}
	first := vals[0].(board.Result).Version
	for i, v := range vals {
		r, ok := v.(board.Result)
		if !ok {
			t.Fatalf("result %d is %T", i, v)
		}
		if r.Version != first+uint64(i) {
			t.Fatalf("result %d has version %d, want %d (in order, contiguous)", i, r.Version, first+uint64(i))
		}
		if (r.Err != "") != (i == 7) {
			t.Fatalf("result %d: err %q", i, r.Err)
		}
	}
	if got, err := c.read(via, func() any { v, _ := c.boards[via].Get("k"); return v }); err != nil || got != fmt.Sprint(n-1) {
		t.Fatalf("k = %v (%v), want the last command's value %d", got, err, n-1)
	}
	if vals, err := c.nodes[via].ProposeBatch(context.Background(), nil); err != nil || vals != nil {
		t.Fatalf("empty batch = %v, %v", vals, err)
	}
}

// TestProposeBatchWithoutLeaderFails: a member that knows no leader refuses
// the whole batch at once, with ErrNoLeader.
func TestProposeBatchWithoutLeaderFails(t *testing.T) {
	net := NewMemNetwork(16)
	sm := board.New()
	n, err := Start(context.Background(), Config{
		Raft:    raft.Config{ID: 1, Voters: []raft.NodeID{1, 2, 3}, Rand: rand.New(rand.NewPCG(1, 7))},
		Storage: raft.NewMemoryStorage(), Transport: net.Join(1), StateMachine: sm,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	cmds := [][]byte{board.Op{Kind: "clear"}.Encode(), board.Op{Kind: "clear"}.Encode()}
	if _, err := n.ProposeBatch(context.Background(), cmds); !errors.Is(err, ErrNoLeader) {
		t.Fatalf("ProposeBatch without a leader = %v, want ErrNoLeader", err)
	}
	if v, err := n.Read(context.Background(), func() any { return sm.Version() }); err == nil && v != uint64(0) {
		t.Fatalf("version %v after a refused batch", v)
	}
	n.Stop()
	if _, err := n.ProposeBatch(context.Background(), cmds); !errors.Is(err, ErrStopped) {
		t.Fatalf("ProposeBatch on a stopped member = %v, want ErrStopped", err)
	}
}
