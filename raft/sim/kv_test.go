package sim

import "testing"

func TestCommandRoundTrip(t *testing.T) {
	for _, c := range []Command{
		{Client: 0, Seq: 1, Op: OpGet, Key: "x"},
		{Client: 3, Seq: 1 << 40, Op: OpPut, Key: "k12", Value: "3.17"},
		{Client: 70000, Seq: 9, Op: OpAppend, Key: "", Value: "[a b]"},
	} {
		got, err := DecodeCommand(c.Encode())
		if err != nil || got != c {
			t.Errorf("round trip of %+v = %+v, %v", c, got, err)
		}
	}
	for _, bad := range [][]byte{nil, {byte(OpPut)}, {9, 0, 0, 0}, {byte(OpGet), 1, 1, 200}} {
		if _, err := DecodeCommand(bad); err == nil {
			t.Errorf("DecodeCommand(%v) accepted", bad)
		}
	}
}

func TestKVSessionsExecuteOnce(t *testing.T) {
	s := newKVStore()
	apply := func(c Command) (string, bool) { return s.apply(c) }
	apply(Command{Client: 1, Seq: 1, Op: OpAppend, Key: "x", Value: "a"})
	// The retried command runs once and answers like the first time.
	apply(Command{Client: 1, Seq: 1, Op: OpAppend, Key: "x", Value: "a"})
	if got, ok := apply(Command{Client: 2, Seq: 1, Op: OpGet, Key: "x"}); !ok || got != "a" {
		t.Fatalf("get x = %q, %v; want \"a\" (the append ran twice?)", got, ok)
	}
	apply(Command{Client: 1, Seq: 2, Op: OpAppend, Key: "x", Value: "b"})
	if got, ok := apply(Command{Client: 2, Seq: 1, Op: OpGet, Key: "x"}); !ok || got != "a" {
		t.Fatalf("a retried get = %q, %v; want the cached \"a\"", got, ok)
	}
	// A command older than the client's last is superseded: no effect, no answer.
	if _, ok := apply(Command{Client: 1, Seq: 1, Op: OpPut, Key: "x", Value: "zzz"}); ok {
		t.Fatal("a superseded command got an answer")
	}
	if got, _ := apply(Command{Client: 2, Seq: 2, Op: OpGet, Key: "x"}); got != "ab" {
		t.Fatalf("x = %q, want \"ab\"", got)
	}
}
