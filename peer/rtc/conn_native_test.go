//go:build !js

package rtc

import (
	"encoding/json"
	"testing"

	"github.com/pion/webrtc/v4"
)

// A candidate's JSON is pion's ICECandidateInit's, whichever side encodes
// or decodes it: tabs (which use candidateInit) and native members
// (pion's type on the other side of the envelope) understand each other.
func TestCandidateJSONIsPions(t *testing.T) {
	mid, idx, ufrag := "0", uint16(1), "Ab3d"
	for _, c := range []webrtc.ICECandidateInit{
		{Candidate: "candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host"},
		{Candidate: "candidate:2 1 udp 1 x.local 9 typ host", SDPMid: &mid, SDPMLineIndex: &idx},
		{Candidate: "c", SDPMid: &mid, SDPMLineIndex: &idx, UsernameFragment: &ufrag},
	} {
		want, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(candidateInit(c))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("candidateInit JSON %s, pion's %s", got, want)
		}
		var back candidateInit
		if err := json.Unmarshal(want, &back); err != nil {
			t.Fatal(err)
		}
		if again, _ := json.Marshal(back); string(again) != string(want) {
			t.Errorf("pion's %s decoded and encoded again: %s", want, again)
		}
	}
}
