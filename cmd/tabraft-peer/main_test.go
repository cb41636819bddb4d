package main

import (
	"strings"
	"testing"

	"github.com/tabraft/tabraft/raft"
)

func TestBadFlagsAreClearErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-nope"}, "flag provided but not defined"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"-data", dir, "-log-level", "loud"}, "-log-level"},
		{[]string{"-data", dir, "-id", "xyz"}, "-id"},
		{[]string{"-data", dir, "-bootstrap", "self,zz"}, "-bootstrap"},
		{[]string{"-data", dir, "-target-voters", "4"}, "odd"},
		{[]string{"-data", dir, "-dead-timeout", "-1s"}, "DeadTimeout"},
		{[]string{"-data", dir, "-recover-alone"}, "nothing to recover"},
	}
	for _, tt := range tests {
		err := run(tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%q) = %v, want an error mentioning %q", tt.args, err, tt.want)
		}
	}
}

func TestParseVoters(t *testing.T) {
	got, err := parseVoters("self, 2a,3", 0x10)
	if err != nil {
		t.Fatal(err)
	}
	want := []raft.NodeID{0x10, 0x2a, 0x3}
	if len(got) != len(want) {
		t.Fatalf("voters = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("voters = %v, want %v", got, want)
		}
	}
	if v, err := parseVoters("", 1); err != nil || v != nil {
		t.Fatalf("no -bootstrap = %v, %v; want a joining member", v, err)
	}
}
