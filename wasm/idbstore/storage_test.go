//go:build js && wasm

package idbstore

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tabraft/tabraft/peer/storagetest"
)

// TestStorage runs the storagetest suite. A crash is a Store abandoned
// open, as by a tab that is closed or killed: what it deferred is lost.
func TestStorage(t *testing.T) {
	n := 0
	storagetest.Run(t, storagetest.Harness{
		New: func(t testing.TB) func(testing.TB) storagetest.Store {
			n++
			name := tempStore(t, fmt.Sprintf("test/%s/%d", strings.ReplaceAll(t.Name(), "/", "_"), n))
			return func(t testing.TB) storagetest.Store { return mustOpen(t, name) }
		},
		Check: func(t testing.TB, st storagetest.Store) {
			s := st.(*Store)
			if got := logKeys(t, s.db); !slices.Equal(got, s.runs) {
				t.Fatalf("records at %v, the store believes %v", got, s.runs)
			}
		},
		ErrClosed: ErrClosed,
		Seeds:     8,
		Steps:     250,
	})
}
