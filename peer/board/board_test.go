package board

import "testing"

func TestApplyAndHash(t *testing.T) {
	a, b := New(), New()
	ops := []Op{{Kind: "set", Key: "px:1:2", Value: "#f00"}, {Kind: "set", Key: "n", Value: "hi"}, {Kind: "del", Key: "n"}}
	for _, op := range ops {
		a.Apply(op.Encode())
		b.Apply(op.Encode())
	}
	if a.Hash() != b.Hash() {
		t.Fatalf("same operations, different hashes")
	}
	if v, ok := a.Get("px:1:2"); !ok || v != "#f00" {
		t.Fatalf("Get = %q, %v", v, ok)
	}
	b.Apply(Op{Kind: "set", Key: "x", Value: "y"}.Encode())
	if a.Hash() == b.Hash() {
		t.Fatalf("different boards, same hash")
	}
}

func TestInvalidOperationsChangeNothingButVersion(t *testing.T) {
	bd := New()
	for _, cmd := range []string{"", "{", `{"op":"boom"}`, `{"op":"set","key":""}`, `{"op":"set","key":"k","val":"` + string(make([]byte, MaxValueLen+1)) + `"}`} {
		r := bd.Apply([]byte(cmd)).(Result)
		if r.Err == "" {
			t.Errorf("%q accepted", cmd)
		}
	}
	if len(bd.Cells()) != 0 || bd.Version() != 5 {
		t.Fatalf("invalid operations changed the board: %v, version %d", bd.Cells(), bd.Version())
	}
}

func TestSnapshotRestore(t *testing.T) {
	a := New()
	a.Apply(Op{Kind: "set", Key: "k", Value: "v"}.Encode())
	img, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b := New()
	if err := b.Restore(img); err != nil {
		t.Fatal(err)
	}
	if a.Hash() != b.Hash() {
		t.Fatalf("restored board differs")
	}
	if err := b.Restore([]byte("garbage")); err == nil {
		t.Fatalf("garbage image accepted")
	}
}
