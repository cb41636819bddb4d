package wasm

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"testing"

	"github.com/tabraft/tabraft/peer/board"
)

// TestDigestIsFNV: the machine's digests are those of hash/fnv, as they
// were when computed with it (the digest is shown to users and compared
// across members).
func TestDigestIsFNV(t *testing.T) {
	for _, c := range [][2]string{{"k", "v"}, {"", ""}, {"key é", "a\x00b"}} {
		h := fnv.New64a()
		fmt.Fprintf(h, "%d:%s=%s", len(c[0]), c[0], c[1])
		if got := cellDigest(c[0], c[1]); got != h.Sum64() {
			t.Errorf("cellDigest(%q, %q) = %x, want %x", c[0], c[1], got, h.Sum64())
		}
	}
	m := newMachine(newBus(nil))
	for _, op := range []board.Op{{Kind: "set", Key: "a", Value: "1"}, {Kind: "set", Key: "b", Value: "2"}, {Kind: "clear"}} {
		m.pending = nil
		m.Apply(op.Encode())
		var buf [16]byte
		binary.LittleEndian.PutUint64(buf[:8], m.sum)
		binary.LittleEndian.PutUint64(buf[8:], m.b.Version())
		h := fnv.New64a()
		h.Write(buf[:])
		if want := fmt.Sprintf("%016x", h.Sum64()); m.Hash() != want {
			t.Errorf("Hash() = %s, want %s", m.Hash(), want)
		}
	}
}
