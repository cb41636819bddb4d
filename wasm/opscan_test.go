package wasm

import (
	"bytes"
	"testing"
	"unsafe"
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

// TestScanAgreesWithJSON: where the fast path answers, it answers as the
// general path does.
func TestScanAgreesWithJSON(t *testing.T) {
	accepted, sliced := 0, 0
	for _, in := range scanSeeds {
		n, s := checkScan(t, []byte(in))
		accepted += n
		sliced += s
	}
	if accepted < 7 || sliced < 3 {
		t.Errorf("the fast path took only %d of the well-formed ops, %d of them without a copy", accepted, sliced)
	}
	// What JSON.stringify writes for the ops a page builds as {op, key, val}
	// is the command itself.
	js := []byte(`[{"op":"set","key":"k","val":"v"},{"op":"del","key":"k"},{"op":"clear"}]`)
	if n, s := checkScan(t, js); n != 3 || s != 3 {
		t.Errorf("%s: %d ops, %d without a copy", js, n, s)
	}
}

func FuzzScan(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, js []byte) { checkScan(t, js) })
}

// checkScan checks the fast path against the general path on js and
// returns the ops it took, and how many of their commands are slices of js.
func checkScan(t *testing.T, js []byte) (accepted, sliced int) {
	t.Helper()
	fast, ok := scanCommands(js)
	if !ok {
		return 0, 0
	}
	slow, err := parseOpsJSON(js)
	if err != nil {
		t.Fatalf("%q: the fast path accepts what the general path refuses: %v", js, err)
	}
	if len(fast) != len(slow) {
		t.Fatalf("%q: fast path %d ops, general path %d", js, len(fast), len(slow))
	}
	for i, op := range slow {
		if want := op.Encode(); !bytes.Equal(fast[i], want) {
			t.Fatalf("%q: op %d: fast path %s, general path %s", js, i, fast[i], want)
		}
		if len(fast[i]) > 0 && len(js) > 0 && within(fast[i], js) {
			sliced++
		}
	}
	return len(fast), sliced
}

// within reports whether b is a slice of s.
func within(b, s []byte) bool {
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	start := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	return p >= start && p < start+uintptr(len(s))
}
