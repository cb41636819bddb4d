//go:build js

package board

// The board in the browser: a tab and a native member that apply the same
// operations must end with the same board, answer every operation the
// same way and produce the same snapshot bytes, or their hashes (shown
// side by side in the demo) would disagree.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
)

// jsOps is a seeded stream of operations as tabs send them, valid and not:
// pixels, notes with non-ASCII text, deletions, clears, malformed JSON,
// unknown kinds, and keys and values over the limits.
func jsOps() [][]byte {
	rng := rand.New(rand.NewPCG(21, 22))
	words := []string{"todo", "café", "日本", "🙂", `quote"d`, "tab\t", "\u00e9t\u00e9", "back\\slash"}
	var ops [][]byte
	for range 3000 {
		switch p := rng.IntN(100); {
		case p < 60:
			ops = append(ops, Op{Kind: "set", Key: fmt.Sprintf("px:%d:%d", rng.IntN(64), rng.IntN(64)), Value: fmt.Sprintf("#%06x", rng.IntN(1<<24))}.Encode())
		case p < 70:
			n := 1 + rng.IntN(5)
			text := make([]string, n)
			for i := range text {
				text[i] = words[rng.IntN(len(words))]
			}
			ops = append(ops, Op{Kind: "set", Key: fmt.Sprintf("note:%d", rng.IntN(20)), Value: strings.Join(text, " ")}.Encode())
		case p < 85:
			ops = append(ops, Op{Kind: "del", Key: fmt.Sprintf("px:%d:%d", rng.IntN(64), rng.IntN(64))}.Encode())
		case p < 86 && rng.IntN(10) == 0:
			ops = append(ops, Op{Kind: "clear"}.Encode())
		case p < 90:
			ops = append(ops, []byte(`{"op":"set","key":"px:1:1","val":`)) // cut short
		case p < 93:
			ops = append(ops, []byte(fmt.Sprintf(`{"op":"paint%d","key":"k"}`, rng.IntN(3))))
		case p < 96:
			ops = append(ops, Op{Kind: "set", Key: strings.Repeat("k", MaxKeyLen+rng.IntN(2)), Value: "v"}.Encode())
		default:
			ops = append(ops, []byte("{\"op\":\"set\",\"key\":\"bad\xffutf8\",\"val\":\"\xc3\"}"))
		}
	}
	return ops
}

// What a native (linux/amd64) build gets from jsOps: the board's hash, and
// the sha256 of the results (JSON, one per line) and of the snapshot.
// Recompute them natively (the loop below, without the build tag) when
// the board's behaviour is meant to change.
const (
	nativeHash          = "9d2bd8c4c551c476"
	nativeResultsDigest = "9a5d84d16ffe5af5f06d5bf12c32a7dd21eed882d376d39af0676fe64a2637db"
	nativeImageDigest   = "7aab24123dce48e975a3e0d727e57d208494ea109099bba6b1e8642e7c71973d"
)

func TestJSBoardMatchesNative(t *testing.T) {
	b := New()
	results := sha256.New()
	invalid := 0
	for _, op := range jsOps() {
		r := b.Apply(op).(Result)
		if r.Err != "" {
			invalid++
		}
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		results.Write(append(line, '\n'))
	}
	img, err := b.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	imgSum := sha256.Sum256(img)
	got := [3]string{b.Hash(), hex.EncodeToString(results.Sum(nil)), hex.EncodeToString(imgSum[:])}
	t.Logf("version %d, %d cells, %d invalid operations; hash %s, results %s, image %s (%d bytes)",
		b.Version(), len(b.Cells()), invalid, got[0], got[1], got[2], len(img))
	if want := [3]string{nativeHash, nativeResultsDigest, nativeImageDigest}; got != want {
		t.Errorf("under wasm: hash, results and image digests %q; natively %q", got, want)
	}
	if invalid == 0 || len(b.Cells()) == 0 {
		t.Fatalf("the stream exercised too little: %d invalid operations, %d cells", invalid, len(b.Cells()))
	}

	// The snapshot restores to the same board, and snapshots identically.
	c := New()
	if err := c.Restore(img); err != nil {
		t.Fatal(err)
	}
	if c.Hash() != b.Hash() || c.Version() != b.Version() || !maps.Equal(c.Cells(), b.Cells()) {
		t.Fatalf("restored board differs: hash %s, want %s", c.Hash(), b.Hash())
	}
	img2, err := c.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(img, img2) {
		t.Fatal("the restored board's snapshot differs from the original's")
	}
}
