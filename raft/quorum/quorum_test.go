package quorum

import "testing"

type acked map[ID]uint64

func (a acked) AckedIndex(id ID) (uint64, bool) { v, ok := a[id]; return v, ok }

func TestMajorityCommittedIndex(t *testing.T) {
	tests := []struct {
		voters []ID
		acked  acked
		want   uint64
	}{
		{[]ID{1}, acked{1: 5}, 5},
		{[]ID{1, 2}, acked{1: 5, 2: 3}, 3},
		{[]ID{1, 2, 3}, acked{1: 5, 2: 3}, 3},
		{[]ID{1, 2, 3}, acked{1: 5}, 0},
		{[]ID{1, 2, 3, 4}, acked{1: 9, 2: 8, 3: 7, 4: 1}, 7},
		{[]ID{1, 2, 3, 4, 5}, acked{1: 9, 2: 8, 3: 7, 4: 1, 5: 2}, 7},
		{[]ID{1, 2, 3, 4, 5}, acked{1: 9, 2: 9, 4: 1, 5: 2}, 2},
	}
	for i, tt := range tests {
		if got := NewMajority(tt.voters...).CommittedIndex(tt.acked); got != tt.want {
			t.Errorf("#%d: CommittedIndex = %d, want %d", i, got, tt.want)
		}
	}
}

func TestMajorityVoteResult(t *testing.T) {
	c := NewMajority(1, 2, 3)
	tests := []struct {
		votes map[ID]bool
		want  VoteResult
	}{
		{map[ID]bool{}, VotePending},
		{map[ID]bool{1: true}, VotePending},
		{map[ID]bool{1: true, 2: true}, VoteWon},
		{map[ID]bool{1: true, 2: false}, VotePending},
		{map[ID]bool{1: false, 2: false}, VoteLost},
		{map[ID]bool{1: true, 2: false, 3: false}, VoteLost},
		{map[ID]bool{9: true, 8: true}, VotePending}, // strangers do not count
	}
	for i, tt := range tests {
		if got := c.VoteResult(tt.votes); got != tt.want {
			t.Errorf("#%d: VoteResult = %v, want %v", i, got, tt.want)
		}
	}
}

func TestJointNeedsBothHalves(t *testing.T) {
	j := JointConfig{NewMajority(1, 2, 3), NewMajority(3, 4, 5)}
	// 1,2 are a majority of the incoming half but not of the outgoing.
	if got := j.VoteResult(map[ID]bool{1: true, 2: true}); got != VotePending {
		t.Fatalf("VoteResult = %v, want pending", got)
	}
	if got := j.VoteResult(map[ID]bool{1: true, 2: true, 4: false, 5: false}); got != VoteLost {
		t.Fatalf("VoteResult = %v, want lost", got)
	}
	if got := j.VoteResult(map[ID]bool{1: true, 3: true, 4: true}); got != VoteWon {
		t.Fatalf("VoteResult = %v, want won", got)
	}
	a := acked{1: 10, 2: 10, 3: 4, 4: 2, 5: 2}
	if got := j.CommittedIndex(a); got != 2 {
		t.Fatalf("CommittedIndex = %d, want 2", got)
	}
	simple := JointConfig{NewMajority(1, 2, 3)}
	if got := simple.CommittedIndex(a); got != 10 {
		t.Fatalf("non-joint CommittedIndex = %d, want 10", got)
	}
}
