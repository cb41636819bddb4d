package bench

import (
	"context"
	"errors"
	"fmt"

	"github.com/tabraft/tabraft/raft"
	"github.com/tabraft/tabraft/raft/rafttest"
)

// tabraftCluster drives tabraft's core through the shared in-process driver
// of the main module (raft/rafttest).
type tabraftCluster struct {
	c    *rafttest.Cluster
	lead raft.NodeID
}

// startTabraft starts a 3-member cluster and waits for member 1 to lead.
func startTabraft(ctx context.Context) (Cluster, error) {
	c, err := rafttest.New(rafttest.Options{Size: 3})
	if err != nil {
		return nil, err
	}
	if err := c.Campaign(ctx, 1); err != nil {
		return nil, errors.Join(err, c.Stop())
	}
	lead, err := c.WaitLeader(ctx)
	if err != nil {
		return nil, errors.Join(err, c.Stop())
	}
	return &tabraftCluster{c: c, lead: lead}, nil
}

func (t *tabraftCluster) Write(ctx context.Context, data []byte) error {
	return t.c.Propose(ctx, t.lead, data)
}

func (t *tabraftCluster) Close() error {
	if err := t.c.Stop(); err != nil {
		return err
	}
	if d := t.c.Dropped(); d > 0 {
		return fmt.Errorf("tabraft: %d messages dropped by full inboxes", d)
	}
	return nil
}
