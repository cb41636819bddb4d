package peer

import (
	"github.com/tabraft/tabraft/raft"
)

// Transport moves Raft messages between members. The live node calls Send
// from its one goroutine and reads Inbox and Unreachable; implementations
// are the WebRTC transport (peer/rtc) and an in-memory one for tests
// (MemNetwork).
type Transport interface {
	// Send queues m for delivery to m.To and returns at once. A message that
	// cannot be queued (no link yet, or the link's queue is full: the
	// receiver is slow) is dropped and m.To is reported on Unreachable; the
	// core retries, so a drop costs time, never safety.
	Send(m raft.Message)
	// Inbox delivers received messages. Messages from one sender arrive in
	// the order it sent them (the core tolerates loss, not reordering of a
	// pipelined stream without a cost).
	Inbox() <-chan raft.Message
	// Unreachable reports members a message could not be delivered to.
	Unreachable() <-chan raft.NodeID
	// Close releases the transport's links. Inbox is not closed.
	Close() error
}
