//go:build !js

package rtc

import (
	"runtime"
	"strings"
	"testing"
)

// TestCloseLeavesNoGoroutine checks that Close ends every goroutine of the
// transport, and pion's too.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	url := startSignaling(t)
	room := roomName(t)
	a := start(t, testConfig(url, room, 1))
	b := start(t, testConfig(url, room, 2))
	waitMesh(t, a, b)
	exchange(t, 10, a, b)
	a.Close()
	b.Close()
	var left []string
	if !poll(waitTimeout, func() bool { left = leftovers(); return len(left) == 0 }) {
		t.Fatalf("%d goroutines left after Close:\n%s", len(left), strings.Join(left, "\n\n"))
	}
}

// leftovers returns the stacks of the goroutines of this package (but the
// tests') and of pion.
func leftovers() []string {
	buf := make([]byte, 1<<20)
	var out []string
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "testing.tRunner") || strings.Contains(g, "testing.(*T).Run") {
			continue
		}
		if strings.Contains(g, "tabraft/peer/rtc.") || strings.Contains(g, "github.com/pion/") {
			out = append(out, g)
		}
	}
	return out
}
