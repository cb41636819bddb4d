package peer

import (
	"bytes"
	"testing"

	"github.com/tabraft/tabraft/raft"
)

func TestCommandHeaderRoundTrip(t *testing.T) {
	id := commandID{proposer: 0x1fffffffffffff, run: 0xdeadbeefcafef00d, seq: 42}
	gotID, cmd, err := decodeCommand(encodeCommand(id, []byte("op")))
	if err != nil || gotID != id || !bytes.Equal(cmd, []byte("op")) {
		t.Fatalf("round trip = %+v %q %v", gotID, cmd, err)
	}
	for _, bad := range [][]byte{nil, {1}, {2}, {2, 0x80}, {2, 1, 0, 0}, {2, 1, 0, 0, 0, 0, 0, 0, 0, 0}} {
		if _, _, err := decodeCommand(bad); err == nil {
			t.Errorf("decodeCommand(%v) accepted", bad)
		}
	}
}

// A restarted member counts sequence numbers from 1 again: an entry of its
// previous run applied after the restart must not resolve a new future.
func TestEarlierRunDoesNotResolveNewFutures(t *testing.T) {
	c := newLiveCluster(t, 1)
	c.leader()
	n := c.nodes[1]
	p := &pending{seq: 1, result: make(chan outcome, 1)}
	old := encodeCommand(commandID{proposer: 1, run: n.runID + 1, seq: 1}, []byte(`{"op":"set","key":"k","val":"old"}`))
	err := n.call(t.Context(), func() {
		n.writes[1] = p
		n.apply(&raft.Entry{Index: 99, Data: old})
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case o := <-p.result:
		t.Fatalf("a previous run's entry resolved a new future with %v", o)
	default:
	}
}
