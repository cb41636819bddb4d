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
	apply := func(c Command) (string, bool) {
		r, ok, _ := s.apply(c)
		return r, ok
	}
	if _, _, fresh := s.apply(Command{Client: 1, Seq: 1, Op: OpAppend, Key: "x", Value: "a"}); !fresh {
		t.Fatal("a new command was not executed")
	}
	// The retried command runs once and answers like the first time.
	if _, _, fresh := s.apply(Command{Client: 1, Seq: 1, Op: OpAppend, Key: "x", Value: "a"}); fresh {
		t.Fatal("a retried command was executed again")
	}
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

func TestKVSnapshotRoundTrip(t *testing.T) {
	s := newKVStore()
	s.apply(Command{Client: 1, Seq: 4, Op: OpPut, Key: "x", Value: "1"})
	s.apply(Command{Client: 2, Seq: 9, Op: OpAppend, Key: "y", Value: "[a]"})
	s.apply(Command{Client: 3, Seq: 1, Op: OpGet, Key: "y"})
	img := s.encode()
	got, err := decodeKV(img)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.encode()) != string(img) || got.data["y"] != "[a]" || got.sessions[3].result != "[a]" {
		t.Fatalf("restored %+v from %+v", got, s)
	}
	// The session survives: a retry of client 2's last append is not re-run.
	if _, _, fresh := got.apply(Command{Client: 2, Seq: 9, Op: OpAppend, Key: "y", Value: "[a]"}); fresh {
		t.Fatal("a restored session forgot client 2's last command")
	}
	if _, err := decodeKV(img[:len(img)-1]); err == nil {
		t.Fatal("a truncated image decoded")
	}
}
