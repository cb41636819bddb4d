package wasm

import (
	"context"
	"errors"
	"strings"

	"github.com/tabraft/tabraft/peer"
	"github.com/tabraft/tabraft/raft"
)

// Errors of the member beyond the peer package's.
var (
	// ErrLeft is returned once the member left the cluster.
	ErrLeft = errors.New("member left")
	// ErrBusy is returned by stop, restart and leave while another of
	// them is under way.
	ErrBusy = errors.New("member busy stopping or starting")
	// ErrRunning is returned by restart on a running member.
	ErrRunning = errors.New("member is running")
)

// Message is the text of the JavaScript Error an error rejects with:
// "tabraft: " and a short description, the well-known cases named as
// web/tabraft.d.ts lists them ("tabraft: no leader", "tabraft: member
// stopped", "tabraft: invalid op: ...", "tabraft: timeout"). After a
// timeout, a write's outcome is unknown: it may still be applied.
func Message(err error) string {
	switch {
	case err == nil:
		return "tabraft: no error"
	case errors.Is(err, raft.ErrNoLeader): // before the timeout: a retried "no leader" ends with one
		return "tabraft: no leader"
	case errors.Is(err, context.DeadlineExceeded):
		return "tabraft: timeout"
	case errors.Is(err, peer.ErrStopped):
		return "tabraft: member stopped"
	case errors.Is(err, ErrLeft):
		return "tabraft: member left"
	case errors.Is(err, peer.ErrRemoved):
		return "tabraft: member removed from the cluster (the outcome of a write is unknown)"
	case errors.Is(err, peer.ErrLeaderChanged):
		return "tabraft: leader changed before the write was applied (it may or may not be applied)"
	case errors.Is(err, raft.ErrProposalDropped):
		return "tabraft: proposal dropped (leadership changing or too much uncommitted)"
	case errors.Is(err, context.Canceled):
		return "tabraft: canceled"
	}
	msg := err.Error()
	for _, p := range []string{"tabraft: ", "peer: ", "raft: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return "tabraft: " + msg
}
