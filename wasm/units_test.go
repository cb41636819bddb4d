package wasm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/tabraft/tabraft/peer"
	"github.com/tabraft/tabraft/peer/board"
	"github.com/tabraft/tabraft/raft"
)

func TestParseOp(t *testing.T) {
	long := strings.Repeat("k", board.MaxKeyLen+1)
	for _, tc := range []struct {
		in   string
		want board.Op
		err  string // substring; "" for none
	}{
		{`{"op":"set","key":"3,4","val":"#e33"}`, board.Op{Kind: "set", Key: "3,4", Value: "#e33"}, ""},
		{`{"op":"set","key":"k","val":""}`, board.Op{Kind: "set", Key: "k"}, ""},
		{`{"op":"del","key":"k","extra":1}`, board.Op{Kind: "del", Key: "k"}, ""},
		{`{"op":"clear"}`, board.Op{Kind: "clear"}, ""},
		{`{"op":"set","key":"k"}`, board.Op{}, "val is missing"},
		{`{"op":"set","key":"k","val":3}`, board.Op{}, "val must be a string"},
		{`{"op":"set","key":"","val":"x"}`, board.Op{}, "key must have"},
		{`{"op":"del","key":"` + long + `"}`, board.Op{}, "key must have"},
		{`{"op":"set","key":"k","val":"` + strings.Repeat("v", board.MaxValueLen+1) + `"}`, board.Op{}, "val over"},
		{`{"op":"put","key":"k"}`, board.Op{}, "op must be"},
		{`{"key":"k"}`, board.Op{}, "op is missing"},
		{`{"op":null}`, board.Op{}, "op is missing"},
		{`[1]`, board.Op{}, "not an object"},
		{`null`, board.Op{}, "not an object"},
		{`"set"`, board.Op{}, "not an object"},
	} {
		op, err := ParseOp([]byte(tc.in))
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("ParseOp(%s): %v", tc.in, err)
		case tc.err == "" && op != tc.want:
			t.Errorf("ParseOp(%s) = %+v, want %+v", tc.in, op, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrInvalidOp)):
			t.Errorf("ParseOp(%s): error %v, want one saying %q", tc.in, err, tc.err)
		}
	}
	if _, err := ParseBatch([]byte(`[{"op":"clear"},{"op":"nope"}]`)); err == nil || !strings.Contains(err.Error(), "op 1") {
		t.Errorf("ParseBatch names the bad op: %v", err)
	}
	if cmds, err := ParseBatch([]byte(`[]`)); err != nil || len(cmds) != 0 {
		t.Errorf("ParseBatch([]) = %v, %v", cmds, err)
	}
}

func TestMessage(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{raft.ErrNoLeader, "tabraft: no leader"},
		{fmt.Errorf("x: %w", raft.ErrNoLeader), "tabraft: no leader"},
		{peer.ErrStopped, "tabraft: member stopped"},
		{fmt.Errorf("peer: no answer, outcome unknown: %w", context.DeadlineExceeded), "tabraft: timeout"},
		{fmt.Errorf("%w (%w)", raft.ErrNoLeader, context.DeadlineExceeded), "tabraft: no leader"},
		{fmt.Errorf("op 2: %w: key must have 1 to 256 bytes", ErrInvalidOp), "tabraft: op 2: invalid op: key must have 1 to 256 bytes"},
		{fmt.Errorf("%w: bad", ErrInvalidOp), "tabraft: invalid op: bad"},
		{errors.New("peer: something"), "tabraft: something"},
		{ErrLeft, "tabraft: member left"},
	} {
		if got := Message(tc.err); got != tc.want {
			t.Errorf("Message(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestDigest(t *testing.T) {
	b := newBus(nil)
	m := newMachine(b)
	for _, op := range []board.Op{
		{Kind: "set", Key: "a", Value: "1"}, {Kind: "set", Key: "b", Value: "2"},
		{Kind: "set", Key: "a", Value: "3"}, {Kind: "del", Key: "b"}, {Kind: "del", Key: "zz"},
		{Kind: "nope"}, {Kind: "set", Key: "c", Value: ""},
	} {
		m.Apply(op.Encode())
	}
	img, err := m.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	m2 := newMachine(b)
	if err := m2.Restore(img); err != nil {
		t.Fatal(err)
	}
	if m.Hash() != m2.Hash() || m.Version() != 7 {
		t.Errorf("incremental digest %s, rebuilt %s (version %d)", m.Hash(), m2.Hash(), m.Version())
	}
	m.Apply(board.Op{Kind: "clear"}.Encode())
	m3 := newMachine(b)
	for range 8 {
		m3.Apply(board.Op{Kind: "del", Key: "x"}.Encode())
	}
	if m.Hash() != m3.Hash() {
		t.Errorf("empty boards of one version: %s and %s", m.Hash(), m3.Hash())
	}
	m3.Apply(board.Op{Kind: "del", Key: "x"}.Encode())
	if m.Hash() == m3.Hash() {
		t.Error("versions differ, digests do not")
	}
}

func TestLineHandler(t *testing.T) {
	var got []string
	var levels []slog.Level
	log := slog.New(NewLineHandler(slog.LevelInfo, func(l slog.Level, s string) {
		levels = append(levels, l)
		got = append(got, s)
	}))
	log.Debug("hidden")
	log.With("room", "demo").Warn("careful", "n", 3)
	log.WithGroup("g").Error("bad", "x", "a b")
	want := []string{`level=WARN msg=careful room=demo n=3`, `level=ERROR msg=bad g.x="a b"`}
	if !slices.Equal(got, want) || !slices.Equal(levels, []slog.Level{slog.LevelWarn, slog.LevelError}) {
		t.Errorf("lines %q at %v, want %q", got, levels, want)
	}
}

func TestJointOf(t *testing.T) {
	if j := jointOf(raft.ConfState{Voters: []raft.NodeID{1, 2, 3}}); j != nil {
		t.Errorf("a simple configuration reported joint: %+v", j)
	}
	j := jointOf(raft.ConfState{Voters: []raft.NodeID{4, 2, 3}, VotersOutgoing: []raft.NodeID{3, 1, 2}})
	if j == nil || !slices.Equal(j.Outgoing, []string{"1", "2", "3"}) || !slices.Equal(j.Incoming, []string{"2", "3", "4"}) {
		t.Errorf("jointOf = %+v", j)
	}
}
