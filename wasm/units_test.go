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
	if _, err := ParseOps([]byte(`[{"op":"clear"},{"op":"nope"}]`)); err == nil || !strings.Contains(err.Error(), "op 1") {
		t.Errorf("ParseOps names the bad op: %v", err)
	}
	if ops, err := ParseOps([]byte(`[]`)); err != nil || len(ops) != 0 {
		t.Errorf("ParseOps([]) = %v, %v", ops, err)
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
		{ErrNotSupported, "tabraft: not supported yet"},
	} {
		if got := Message(tc.err); got != tc.want {
			t.Errorf("Message(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestNextChange(t *testing.T) {
	cs := raft.ConfState{Voters: []raft.NodeID{1}, Learners: []raft.NodeID{3}}
	st := raft.Status{Commit: 100, Progress: map[raft.NodeID]raft.ProgressStatus{
		1: {Match: 100, State: "replicate", RecentActive: true},
		3: {Match: 10, State: "replicate", RecentActive: true, Learner: true},
	}}
	// The learner is far behind: add the newcomer 2 as a learner first.
	cc, ok := nextChange(st, cs, []raft.NodeID{3, 2}, nil, 5)
	if !ok || cc.Changes[0] != (raft.ConfChangeSingle{Type: raft.AddLearner, Node: 2}) {
		t.Errorf("got %+v, %v; want 2 added as a learner", cc, ok)
	}
	// Just removed: not added back.
	if cc, ok := nextChange(st, cs, []raft.NodeID{3, 2}, []raft.NodeID{2}, 5); ok {
		t.Errorf("re-added a removed member: %+v", cc)
	}
	// Caught up: promoted, unless the target is reached.
	st.Progress[3] = raft.ProgressStatus{Match: 99, State: "replicate", RecentActive: true, Learner: true}
	cc, ok = nextChange(st, cs, []raft.NodeID{3}, nil, 5)
	if !ok || cc.Changes[0] != (raft.ConfChangeSingle{Type: raft.AddVoter, Node: 3}) {
		t.Errorf("got %+v, %v; want 3 promoted", cc, ok)
	}
	if cc, ok := nextChange(st, cs, []raft.NodeID{3}, nil, 1); ok {
		t.Errorf("promoted beyond the target: %+v", cc)
	}
	// A joint configuration is left alone.
	if _, ok := nextChange(st, raft.ConfState{Voters: []raft.NodeID{1}, VotersOutgoing: []raft.NodeID{1, 4}}, []raft.NodeID{2}, nil, 5); ok {
		t.Error("changed a joint configuration")
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
