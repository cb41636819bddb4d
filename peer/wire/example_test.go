package wire_test

import (
	"fmt"

	"github.com/tabraft/tabraft/peer/wire"
	"github.com/tabraft/tabraft/raft"
)

func Example() {
	enc, err := wire.NewEncoder(wire.Options{})
	if err != nil {
		panic(err)
	}
	defer enc.Close()
	dec, err := wire.NewDecoder(wire.Options{})
	if err != nil {
		panic(err)
	}
	defer dec.Close()

	m := raft.Message{Type: raft.MsgApp, From: 1, To: 2, Term: 3, Index: 9, LogTerm: 3, Commit: 9,
		Entries: []raft.Entry{{Term: 3, Index: 10, Data: []byte(`{"op":"set","key":"px:1:2","val":"#ff7700"}`)}}}
	frags, err := enc.Encode(m) // each fragment is one DataChannel.Send
	if err != nil {
		panic(err)
	}
	for _, f := range frags { // on the other side, in arrival order
		got, ok, err := dec.Feed(f)
		if err != nil {
			fmt.Println("rejected:", err) // counted in dec.Stats(); the connection carries on
			continue
		}
		if ok {
			fmt.Println(got)
		}
	}
	_, _, err = dec.Feed([]byte{9, 0, 0})
	fmt.Println(err)
	fmt.Println(dec.Stats().Snapshot().Rejected[wire.ReasonVersion])
	// Output:
	// MsgApp 1→2 term=3 logterm=3 index=9 commit=9 entries=1 reject=false
	// wire: version 9, want 1 to 2: unknown wire version
	// 1
}
