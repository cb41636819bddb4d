package sim

import (
	"testing"

	"github.com/tabraft/tabraft/raft"
)

// confTestChecker is a checker that knows two configurations: (n1 n2 n3)
// made by the bootstrap entry 1, and (n1 n2 n3 n4 n5) made by entry 5 (a
// step no correct core takes at once: two voters added without a joint
// configuration).
func confTestChecker(t *testing.T) *checker {
	t.Helper()
	c := newTestChecker(5)
	small := confMask{in: maskOf([]raft.NodeID{1, 2, 3})}
	big := confMask{in: maskOf([]raft.NodeID{1, 2, 3, 4, 5})}
	c.conf.noteEntry(5)
	for m := range 3 {
		c.setConf(m, small, 1)
	}
	for m := 3; m < 5; m++ {
		c.setConf(m, big, 5)
	}
	return c
}

func TestConfigSafetyDisjointMajorities(t *testing.T) {
	c := confTestChecker(t)
	// n1 wins term 2 with n2's vote: a majority of (n1 n2 n3).
	c.votes[logPos{1, 2}] = 1
	c.electionWon(0, 2, c.members[0].conf)
	wantOnly(t, c)
	// n4 commits index 7 in term 3 on the acknowledgements of n3, n4 and
	// n5: a majority of (n1 n2 n3 n4 n5), disjoint from {n1 n2}.
	progress := map[raft.NodeID]raft.ProgressStatus{
		1: {Match: 2}, 2: {Match: 2}, 3: {Match: 7}, 4: {Match: 7}, 5: {Match: 7},
	}
	c.commitDecided(3, 7, 3, c.members[3].conf, progress)
	wantOnly(t, c, ConfigSafety)
}

func TestConfigSafetyNotAQuorum(t *testing.T) {
	c := confTestChecker(t)
	// n1 claims term 2 on its own vote in a three-voter configuration.
	c.electionWon(0, 2, c.members[0].conf)
	wantOnly(t, c, ConfigSafety)
}

func TestConfigSafetyJointNeedsBothHalves(t *testing.T) {
	c := newTestChecker(5)
	joint := confMask{in: maskOf([]raft.NodeID{1, 4, 5}), out: maskOf([]raft.NodeID{1, 2, 3})}
	c.conf.noteEntry(9)
	c.setConf(0, joint, 9)
	// n1, n4 and n5 are a majority of the incoming half only.
	progress := map[raft.NodeID]raft.ProgressStatus{1: {Match: 10}, 4: {Match: 10}, 5: {Match: 10}, 2: {}, 3: {}}
	c.commitDecided(0, 10, 4, joint, progress)
	wantOnly(t, c, ConfigSafety)
}

func TestConfigSafetyOverlappingQuorums(t *testing.T) {
	c := confTestChecker(t)
	c.votes[logPos{1, 2}] = 1
	c.electionWon(0, 2, c.members[0].conf)
	// n2, n4 and n5 overlap {n1 n2}: fine.
	progress := map[raft.NodeID]raft.ProgressStatus{2: {Match: 7}, 4: {Match: 7}, 5: {Match: 7}, 1: {}, 3: {}}
	c.commitDecided(3, 7, 3, c.members[3].conf, progress)
	wantOnly(t, c)
}
