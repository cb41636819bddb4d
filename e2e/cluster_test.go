//go:build !js

package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/tabraft/tabraft/internal/browsertest"
)

// Deadlines of the waits. They are generous: a slow machine passes, a
// broken cluster still fails.
const (
	formTimeout  = 60 * time.Second // tabs admitted and promoted to voters
	agreeTimeout = 30 * time.Second // every tab applied the same board
	leadTimeout  = 30 * time.Second // a leader after a failure
)

// cluster is one test's signaling server, browser and room.
type cluster struct {
	t    *testing.T
	srv  *browsertest.Server
	br   *browsertest.Browser
	room string
}

// newCluster builds and starts everything a test needs, or skips the test
// when browser tests are off.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	browsertest.Require(t)
	srv := browsertest.StartServer(t, browsertest.Build(t))
	br := browsertest.NewBrowser(t, chromedp.WindowSize(1280, 1000))
	room := fmt.Sprintf("%s-%08x", strings.ToLower(strings.TrimPrefix(t.Name(), "Test")), rand.Uint32())
	return &cluster{t: t, srv: srv, br: br, room: room}
}

// member is one tab running the demo page.
type member struct {
	tab *browsertest.Tab
	id  string
}

// readyJS waits for the demo page's member and returns its id.
const readyJS = `(async () => {
	while (!window.tabraftReady) await new Promise(r => setTimeout(r, 20));
	const m = await window.tabraftReady;
	if (window.tabraftMember !== m) throw new Error("window.tabraftMember is not the member tabraftReady resolved with");
	return m.id;
})()`

// open opens the demo page of the room in a new tab and waits until its
// member joined.
func (c *cluster) open() *member {
	c.t.Helper()
	tab := c.br.Open(c.t, c.srv.URL+"/?room="+c.room)
	id := browsertest.Eval[string](c.t, tab, readyJS)
	if id == "" {
		c.t.Fatal("the demo's member has an empty id")
	}
	tab.Name = "tab of member " + id
	return &member{tab: tab, id: id}
}

// openN opens n tabs one after the other: each joins once the one before
// it did, so that exactly the first finds the room empty and founds.
func (c *cluster) openN(n int) []*member {
	c.t.Helper()
	ms := make([]*member, n)
	for i := range ms {
		ms[i] = c.open()
	}
	return ms
}

// status is what the member's status() resolves with (the fields used here).
type status struct {
	ID           string
	Role         string
	Leader       string
	Term         uint64
	Commit       uint64
	Applied      uint64
	LastIndex    uint64
	Voters       []string
	Learners     []string
	Joint        *struct{ Outgoing, Incoming []string }
	Progress     map[string]progress
	Hash         string
	Version      uint64
	Disconnected bool
	Note         string
}

type progress struct {
	Match   uint64
	State   string
	Learner bool
}

func statusOf(m *member) (status, error) {
	return browsertest.EvalErr[status](m.tab, `tabraftMember.status()`)
}

func ids(ms []*member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.id)
	}
	return out
}

// waitFormed waits until the tabs ms agree on one leader among them, in
// one term, and its configuration has exactly ms and extra (native
// members) as voters and no learner. It returns the leader's tab and
// status.
func (c *cluster) waitFormed(ms []*member, extra ...string) (*member, status) {
	c.t.Helper()
	want := slices.Sorted(slices.Values(append(ids(ms), extra...)))
	var leader *member
	var lst status
	browsertest.WaitFor(c.t, formTimeout, fmt.Sprintf("one leader, and voters %v", want), func() (bool, error) {
		leader = nil
		if err := agreeOnLeader(ms, ""); err != nil {
			return false, err
		}
		for _, m := range ms {
			s, err := statusOf(m)
			if err != nil {
				return false, err
			}
			if s.Role == "leader" {
				leader, lst = m, s
			}
		}
		switch {
		case leader == nil:
			return false, errors.New("the leader is none of the tabs")
		case !slices.Equal(slices.Sorted(slices.Values(lst.Voters)), want) || len(lst.Learners) > 0:
			return false, fmt.Errorf("the leader has voters %v and learners %v", lst.Voters, lst.Learners)
		}
		return true, nil
	})
	return leader, lst
}

// agreeOnLeader checks that the tabs ms know the same leader, in the same
// term, and that it is not the member not.
func agreeOnLeader(ms []*member, not string) error {
	var lead string
	var term uint64
	for i, m := range ms {
		s, err := statusOf(m)
		switch {
		case err != nil:
			return err
		case s.Leader == "":
			return fmt.Errorf("%s knows no leader (%s)", m.tab.Name, s.Note)
		case s.Leader == not:
			return fmt.Errorf("%s still follows %s", m.tab.Name, not)
		case i > 0 && (s.Leader != lead || s.Term != term):
			return fmt.Errorf("%s follows %s in term %d, %s follows %s in term %d", m.tab.Name, s.Leader, s.Term, ms[0].tab.Name, lead, term)
		}
		lead, term = s.Leader, s.Term
	}
	return nil
}

// waitLeader waits until the tabs ms agree on a leader among them, other
// than not, and returns it.
func (c *cluster) waitLeader(ms []*member, not string) (*member, status) {
	c.t.Helper()
	var leader *member
	var lst status
	browsertest.WaitFor(c.t, leadTimeout, "the tabs agree on a new leader among them", func() (bool, error) {
		leader = nil
		if err := agreeOnLeader(ms, not); err != nil {
			return false, err
		}
		for _, m := range ms {
			s, err := statusOf(m)
			if err != nil {
				return false, err
			}
			if s.Role == "leader" {
				leader, lst = m, s
			}
		}
		if leader == nil {
			return false, errors.New("the leader is none of the tabs")
		}
		return true, nil
	})
	return leader, lst
}

// kv is one cell write.
type kv struct{ Key, Val string }

// palette is the demo's colors but black and white.
var palette = []string{"#e63946", "#f4a261", "#e9c46a", "#2a9d8f", "#457b9d", "#8338ec", "#ff70a6", "#8d6e63"}

// cellsOf returns n (at most 64) writes of the board's cells for tab i:
// rows row0+2i and row0+2i+1, in colored stripes. No two tabs, and no two
// rows row0, write the same cell.
func cellsOf(i, row0, n int) []kv {
	out := make([]kv, n)
	for j := range out {
		x, y := j%32, row0+2*i+j/32
		out[j] = kv{Key: fmt.Sprintf("%d,%d", x, y), Val: palette[(x/4+3*i+row0)%len(palette)]}
	}
	return out
}

// result is what propose resolves with.
type result struct {
	Version uint64
	Err     string
}

// writeAll proposes writes[i] from tab ms[i], every op of every tab at
// once, and checks that each was applied exactly once (a result without
// error, and versions that no other op got). It returns the board they
// make when added to board.
func (c *cluster) writeAll(ms []*member, writes [][]kv, board map[string]string) map[string]string {
	c.t.Helper()
	results := make([][]result, len(ms))
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	for i, m := range ms {
		pairs, err := json.Marshal(writes[i])
		if err != nil {
			c.t.Fatal(err)
		}
		js := fmt.Sprintf(`Promise.all(%s.map(w => tabraftMember.propose({op: "set", key: w.Key, val: w.Val})))`, pairs)
		wg.Go(func() { results[i], errs[i] = browsertest.EvalErr[[]result](m.tab, js) })
	}
	wg.Wait()
	seen := map[uint64]string{}
	for i, m := range ms {
		if errs[i] != nil {
			c.t.Fatalf("%s: proposing %d writes: %v", m.tab.Name, len(writes[i]), errs[i])
		}
		if len(results[i]) != len(writes[i]) {
			c.t.Fatalf("%s: %d results for %d writes", m.tab.Name, len(results[i]), len(writes[i]))
		}
		for j, r := range results[i] {
			if r.Err != "" || r.Version == 0 {
				c.t.Errorf("%s: write of %s resolved with %+v", m.tab.Name, writes[i][j].Key, r)
			}
			if other, dup := seen[r.Version]; dup {
				c.t.Errorf("%s: write of %s resolved with version %d, as %s did", m.tab.Name, writes[i][j].Key, r.Version, other)
			}
			seen[r.Version] = m.id + "'s " + writes[i][j].Key
		}
	}
	if c.t.Failed() {
		c.t.FailNow()
	}
	out := maps.Clone(board)
	if out == nil {
		out = map[string]string{}
	}
	for _, w := range writes {
		for _, kv := range w {
			out[kv.Key] = kv.Val
		}
	}
	return out
}

// view is one tab's applied state, from its member and from its page.
type view struct {
	Hash    string
	Version uint64
	Applied uint64
	Cells   map[string]string
	Shown   string            // #hash
	Painted map[string]string // the board's cells with a data-val
}

const viewJS = `(async () => {
	const m = tabraftMember, s = await m.status();
	const painted = {};
	for (const el of document.querySelectorAll("#board .cell[data-val]")) painted[el.dataset.key] = el.dataset.val;
	return {hash: s.hash, version: s.version, applied: s.applied, cells: m.cells(),
		shown: document.getElementById("hash").textContent, painted};
})()`

// waitAgree waits until every tab of ms applied exactly board, shows it
// on its page (cells and #hash), and has the same hash and version as the
// others. It returns the hash.
func (c *cluster) waitAgree(ms []*member, board map[string]string) string {
	c.t.Helper()
	var hash string
	browsertest.WaitFor(c.t, agreeTimeout, fmt.Sprintf("the %d tabs apply and show the same %d cells", len(ms), len(board)), func() (bool, error) {
		var first view
		for i, m := range ms {
			v, err := browsertest.EvalErr[view](m.tab, viewJS)
			switch {
			case err != nil:
				return false, err
			case !maps.Equal(v.Cells, board):
				return false, fmt.Errorf("%s applied %d cells of %d (version %d)", m.tab.Name, len(v.Cells), len(board), v.Version)
			case !maps.Equal(v.Painted, board):
				return false, fmt.Errorf("%s paints %d cells, not the %d it applied", m.tab.Name, len(v.Painted), len(board))
			case v.Shown != v.Hash:
				return false, fmt.Errorf("%s shows hash %q, its status says %q", m.tab.Name, v.Shown, v.Hash)
			}
			if i == 0 {
				first = v
			} else if v.Hash != first.Hash || v.Version != first.Version {
				return false, fmt.Errorf("%s has hash %s at version %d, %s %s at %d", m.tab.Name, v.Hash, v.Version, ms[0].tab.Name, first.Hash, first.Version)
			}
		}
		hash = first.Hash
		return true, nil
	})
	c.t.Logf("%d tabs agree: %d cells, hash %s", len(ms), len(board), hash)
	return hash
}
