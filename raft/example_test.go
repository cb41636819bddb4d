package raft_test

import (
	"fmt"

	"github.com/tabraft/tabraft/raft"
)

// A single-member cluster: the host loop persists, sends (nothing here),
// applies and advances.
func ExampleNode() {
	storage := raft.NewMemoryStorage()
	node, err := raft.NewNode(&raft.Config{ID: 1, Voters: []raft.NodeID{1}, Storage: storage})
	if err != nil {
		panic(err)
	}
	handle := func() {
		for node.HasReady() {
			rd := node.Ready()
			if err := storage.Save(&rd); err != nil {
				panic(err)
			}
			for _, e := range rd.CommittedEntries {
				if e.Type == raft.EntryNormal && len(e.Data) > 0 {
					fmt.Printf("applied %q at index %d\n", e.Data, e.Index)
				}
			}
			node.Advance()
		}
	}
	_ = node.Campaign()
	handle()
	_ = node.Propose([]byte("hello"))
	handle()
	fmt.Println("role:", node.Status().Role)
	// Output:
	// applied "hello" at index 3
	// role: leader
}
