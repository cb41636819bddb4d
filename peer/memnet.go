package peer

import (
	"slices"
	"sync"

	"github.com/tabraft/tabraft/raft"
)

// MemNetwork connects in-process members with Go channels, for tests and
// benchmarks.
type MemNetwork struct {
	mu    sync.Mutex
	ends  map[raft.NodeID]*MemTransport
	inbox int
}

// NewMemNetwork returns a network whose members' inboxes hold inboxSize
// messages (a full inbox drops, as a slow real link would).
func NewMemNetwork(inboxSize int) *MemNetwork {
	return &MemNetwork{ends: map[raft.NodeID]*MemTransport{}, inbox: inboxSize}
}

// Join attaches member id, replacing an earlier attachment (a restart).
func (n *MemNetwork) Join(id raft.NodeID) *MemTransport {
	t := &MemTransport{net: n, id: id,
		inbox:       make(chan raft.Message, n.inbox),
		unreachable: make(chan raft.NodeID, 64)}
	n.mu.Lock()
	n.ends[id] = t
	n.mu.Unlock()
	return t
}

// MemTransport is one member's end of a MemNetwork.
type MemTransport struct {
	net         *MemNetwork
	id          raft.NodeID
	inbox       chan raft.Message
	unreachable chan raft.NodeID
	closed      bool // guarded by net.mu
}

// Send implements Transport.
func (t *MemTransport) Send(m raft.Message) {
	n := t.net
	n.mu.Lock()
	to := n.ends[m.To]
	ok := to != nil && !to.closed && !t.closed
	if ok {
		select {
		case to.inbox <- m:
		default:
			ok = false
		}
	}
	n.mu.Unlock()
	if !ok {
		select {
		case t.unreachable <- m.To:
		default: // already reported, the core will hear
		}
	}
}

// Members implements Roster: the other members attached to the network
// and not closed, sorted — as a signaling room would list them.
func (t *MemTransport) Members() []raft.NodeID {
	n := t.net
	n.mu.Lock()
	defer n.mu.Unlock()
	var ids []raft.NodeID
	for id, end := range n.ends {
		if id != t.id && !end.closed {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// Inbox implements Transport.
func (t *MemTransport) Inbox() <-chan raft.Message { return t.inbox }

// Unreachable implements Transport.
func (t *MemTransport) Unreachable() <-chan raft.NodeID { return t.unreachable }

// Close implements Transport.
func (t *MemTransport) Close() error {
	t.net.mu.Lock()
	t.closed = true
	t.net.mu.Unlock()
	return nil
}
