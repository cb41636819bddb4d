//go:build !js

package main

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tabraft/tabraft/internal/browsertest"
)

// joinJS loads tabraft.js into a page of the server (any page: the smoke
// test does not depend on the demo) and joins room; window.m is the member.
const joinJS = `(async () => {
	const { loadTabraft } = await import("/tabraft.js");
	const tabraft = await loadTabraft();
	window.m = await tabraft.join({ room: %q, logLevel: "debug" });
	return m.id;
})()`

// TestBrowserSmoke runs three tabs of one headless Chromium as members of a
// room, against the real tabraft-signal binary: the first founds the
// cluster, the others are added, each proposes a cell, and every tab ends
// with the same board and hash. It runs when TABRAFT_BROWSER_TEST is set.
func TestBrowserSmoke(t *testing.T) {
	browsertest.Require(t)
	srv := browsertest.StartServer(t, browsertest.Build(t))
	br := browsertest.NewBrowser(t)
	room := fmt.Sprintf("smoke-%x", rand.Uint32())

	var tabs []*browsertest.Tab
	var ids []string
	for i := range 3 {
		tab := br.Open(t, srv.URL+"/healthz")
		id := browsertest.Eval[string](t, tab, fmt.Sprintf(joinJS, room))
		tab.Name = fmt.Sprintf("tab %d (member %s)", i, id)
		tabs, ids = append(tabs, tab), append(ids, id)
		if i == 0 {
			browsertest.WaitFor(t, 20*time.Second, "the first member leads", func() (bool, error) {
				role, err := browsertest.EvalErr[string](tab, `m.status().then(s => s.role)`)
				return role == "leader", err
			})
		}
	}
	browsertest.WaitFor(t, 60*time.Second, "three voters", func() (bool, error) {
		n, err := browsertest.EvalErr[int](tabs[0], `m.status().then(s => s.voters.length)`)
		return n == 3, err
	})
	for i, tab := range tabs {
		res := browsertest.Eval[struct{ Version int }](t, tab, fmt.Sprintf(`m.propose({op: "set", key: "k%d", val: %q})`, i, ids[i]))
		if res.Version == 0 {
			t.Errorf("%s: propose resolved with version 0", tab.Name)
		}
	}
	if v := browsertest.Eval[string](t, tabs[2], `m.read("k0")`); v != ids[0] {
		t.Errorf("linearizable read of k0 on the third tab: %q, want %q", v, ids[0])
	}
	type view struct {
		Cells map[string]string
		Hash  string
	}
	browsertest.WaitFor(t, 20*time.Second, "every tab applied the same board", func() (bool, error) {
		var first view
		for i, tab := range tabs {
			v, err := browsertest.EvalErr[view](tab, `m.status().then(s => ({cells: m.cells(), hash: s.hash}))`)
			if err != nil || len(v.Cells) != 3 {
				return false, err
			}
			if i == 0 {
				first = v
			} else if v.Hash != first.Hash || fmt.Sprint(v.Cells) != fmt.Sprint(first.Cells) {
				return false, nil
			}
		}
		return true, nil
	})
}
