//go:build js

package wasm

import (
	"context"
	"log/slog"

	"github.com/tabraft/tabraft/peer"
	"github.com/tabraft/tabraft/raft"
	"github.com/tabraft/tabraft/wasm/idbstore"
)

// durableStorage reports whether this build keeps a member's log across
// reloads of its tab (IndexedDB).
const durableStorage = true

// openStorage opens the member's storage: its IndexedDB database
// (idbstore.Name(room, id)) when persist, else memory.
func openStorage(ctx context.Context, log *slog.Logger, persist bool, room string, id raft.NodeID) (peer.Storage, error) {
	if !persist {
		return raft.NewMemoryStorage(), nil
	}
	s, err := idbstore.Open(ctx, idbstore.Name(room, id))
	if err != nil {
		return nil, err
	}
	log.Debug("storage opened", "indexeddb", s.Name(), "last_index", s.LastIndex())
	return s, nil
}
