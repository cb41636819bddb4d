package wasm

import (
	"slices"
	"testing"
)

var scanSeeds = []string{
	`[]`, `[{"op":"clear"}]`, `[{"op":"set","key":"k","val":"v"},{"op":"del","key":"k"}]`,
	`[{"key":"k","val":"","op":"set"}]`, `[{"op":"set","key":"a\"b\\c\u00e9\ud800","val":"x\ny"}]`,
	`[{"op":"del","key":"k","val":"ignored"}]`, `[{"op":"clear","key":"k"}]`,
	`[{"op":"set","key":"k"}]`, `[{"op":"set","key":"","val":"v"}]`, `[{"OP":"clear"}]`,
	`[{"op":"clear","op":"clear"}]`, `[{"op":"clear","x":1}]`, `[{"op":"set","key":"k","val":1}]`,
	`[{"op":"nope"}]`, `[{"op":null}]`, `[ {"op":"clear"} ]`, `[{"op":"clear"}`, `[{"op":"clear"}]x`,
	`[{"op":"clear"},]`, `{"op":"clear"}`, "[{\"op\":\"set\",\"key\":\"\xff\",\"val\":\"\"}]",
	"[{\"op\":\"set\",\"key\":\"k\",\"val\":\"\x01\"}]", `[{"o\u0070":"clear"}]`, `[{"op":"set","key":"k","val":"v\`,
}

// TestScanOpsAgreesWithJSON: where the fast path answers, it answers as
// the general path does.
func TestScanOpsAgreesWithJSON(t *testing.T) {
	accepted := 0
	for _, in := range scanSeeds {
		if checkScan(t, []byte(in)) {
			accepted++
		}
	}
	if accepted < 6 {
		t.Errorf("the fast path took only %d of the well-formed seeds", accepted)
	}
}

func FuzzScanOps(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, js []byte) { checkScan(t, js) })
}

func checkScan(t *testing.T, js []byte) bool {
	t.Helper()
	fast, ok := scanOps(js)
	if !ok {
		return false
	}
	slow, err := parseOpsJSON(js)
	if err != nil {
		t.Fatalf("%q: the fast path accepts what the general path refuses: %v", js, err)
	}
	if !slices.Equal(fast, slow) {
		t.Fatalf("%q: fast path %+v, general path %+v", js, fast, slow)
	}
	return true
}
