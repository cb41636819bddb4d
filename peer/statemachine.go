package peer

// StateMachine is the user's replicated state. The node calls it from its
// own goroutine only, in log order: Apply for each committed command,
// Snapshot when the log is compacted, Restore when a snapshot replaces the
// state (at start, or received from the leader).
type StateMachine interface {
	// Apply executes a committed command and returns its result, which
	// resolves the Propose call that submitted it (on the member that did).
	Apply(cmd []byte) any
	// Snapshot returns an image of the whole state.
	Snapshot() ([]byte, error)
	// Restore replaces the state with an image Snapshot produced.
	Restore(image []byte) error
}
