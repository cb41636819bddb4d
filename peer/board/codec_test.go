package board

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"testing"
	"unicode/utf8"
)

var codecSeeds = [][3]string{
	{"set", "k", "v"}, {"del", "k", ""}, {"clear", "", ""}, {"set", "", ""},
	{"set", "a<b>&c", "é"}, {"set", "q\"\\", "\n\x01"}, {"set", "k", "\u2028"}, {"set", "\xff", "v"},
}

// TestCodecAgreesWithJSON: the fast paths write and read exactly what
// encoding/json does.
func TestCodecAgreesWithJSON(t *testing.T) {
	for _, s := range codecSeeds {
		checkCodec(t, Op{Kind: s[0], Key: s[1], Value: s[2]})
	}
	for _, in := range []string{`{"op":"set","val":"v","key":"k"}`, `{"op":"set","key":"k","val":"v"} `,
		`{"op":"clear"}`, `{"op":"set","key":"k","val":"v"}x`, `{"op":"set","key":"k","key":"j"}`, `{"OP":"clear"}`,
		`{"op":"set","key":"k","val":"v`, `{"op":1}`, `{}`, ``} {
		checkDecode(t, []byte(in))
	}
	if _, ok := decodeFast([]byte(`{"op":"set","key":"k","val":"v"}`)); !ok {
		t.Errorf("the fast path refuses what Encode writes")
	}
	for _, rs := range [][]Result{nil, {}, {{Version: 1}, {Version: 18446744073709551615}}, {{Version: 2, Err: "a<\"b\""}}} {
		want, _ := json.Marshal(rs)
		if rs == nil {
			want = []byte("[]")
		}
		if got := EncodeResults(rs); !bytes.Equal(got, want) {
			t.Errorf("EncodeResults(%v) = %s, want %s", rs, got, want)
		}
	}
}

// TestImageAgreesWithJSON: Snapshot's fast path writes what json.Marshal
// does, and Restore reads it back.
func TestImageAgreesWithJSON(t *testing.T) {
	b := New()
	checkImage(t, b)
	for i, s := range codecSeeds {
		b.ApplyOp(Op{Kind: "set", Key: fmt.Sprintf("k%d", 10-i), Value: fmt.Sprintf("v%d", i)})
		checkImage(t, b)
		b.ApplyOp(Op{Kind: "set", Key: s[1] + "x", Value: s[2]})
		checkImage(t, b)
	}
}

func checkImage(t *testing.T, b *Board) {
	t.Helper()
	want, _ := json.Marshal(image{Version: b.version, Cells: b.cells})
	got, err := b.Snapshot()
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Snapshot() = %s, %v; json.Marshal %s", got, err, want)
	}
	for k, v := range b.cells {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return // encoding/json replaces invalid UTF-8: no round trip
		}
	}
	r := New()
	if err := r.Restore(got); err != nil || r.version != b.version || !maps.Equal(r.cells, b.cells) {
		t.Fatalf("Restore(%s): %v, %d %v", got, err, r.version, r.cells)
	}
}

func FuzzCodec(f *testing.F) {
	for _, s := range codecSeeds {
		f.Add(s[0], s[1], s[2], []byte(Op{Kind: s[0], Key: s[1], Value: s[2]}.Encode()))
	}
	f.Fuzz(func(t *testing.T, kind, key, val string, cmd []byte) {
		checkCodec(t, Op{Kind: kind, Key: key, Value: val})
		checkDecode(t, cmd)
		b := New()
		b.ApplyOp(Op{Kind: "set", Key: "k", Value: "v"})
		b.ApplyOp(Op{Kind: "set", Key: key, Value: val})
		b.ApplyOp(Op{Kind: "set", Key: val, Value: key})
		checkImage(t, b)
	})
}

func checkCodec(t *testing.T, op Op) {
	t.Helper()
	want, _ := json.Marshal(op)
	got := op.Encode()
	if !bytes.Equal(got, want) {
		t.Fatalf("Encode(%+v) = %s, json.Marshal %s", op, got, want)
	}
	checkDecode(t, got)
}

func checkDecode(t *testing.T, cmd []byte) {
	t.Helper()
	var want Op
	werr := json.Unmarshal(cmd, &want)
	got, err := Decode(cmd)
	if (err != nil) != (werr != nil) || (err == nil && got != want) {
		t.Fatalf("Decode(%q) = %+v, %v; json.Unmarshal %+v, %v", cmd, got, err, want, werr)
	}
}
