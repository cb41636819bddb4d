package wire

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/tabraft/tabraft/raft"
)

// demoGen makes the operations of the collaborative board demo, as its pages
// encode them: small JSON objects, one per entry. A few tabs draw at once;
// each draws strokes (runs of neighbouring pixels in one colour from a
// 16-colour palette), erases now and then and sometimes edits a sticky note.
type demoGen struct {
	rng     *rand.Rand
	clients []demoClient
	notes   int
}

type demoClient struct {
	id     string
	seq    int
	x, y   int
	color  string
	stroke int // pixels left in the current stroke
}

var demoPalette = [...]string{
	"#000000", "#ffffff", "#ff7700", "#e53935", "#8e24aa", "#3949ab", "#039be5", "#00897b",
	"#43a047", "#c0ca33", "#fdd835", "#fb8c00", "#6d4c41", "#757575", "#f06292", "#4dd0e1",
}

var demoWords = strings.Fields(`todo fix the login page review design with team ship it friday
	call back about budget draft next sprint plan bug in sync check offline mode
	ideas for onboarding ask about colours deploy staging meeting notes retro`)

func newDemoGen(seed uint64, tabs int) *demoGen {
	g := &demoGen{rng: rand.New(rand.NewPCG(seed, 0x7ab))}
	for range tabs {
		g.clients = append(g.clients, demoClient{id: fmt.Sprintf("tab-%04x", g.rng.IntN(1<<16)), seq: g.rng.IntN(1000)})
	}
	return g
}

const demoBoard = 256 // the board is demoBoard×demoBoard pixels

func (g *demoGen) op() []byte {
	c := &g.clients[g.rng.IntN(len(g.clients))]
	c.seq++
	switch p := g.rng.IntN(100); {
	case p < 5:
		n := g.rng.IntN(g.notes + 1)
		if n == g.notes {
			g.notes++
		}
		words := make([]string, 2+g.rng.IntN(7))
		for i := range words {
			words[i] = demoWords[g.rng.IntN(len(demoWords))]
		}
		return fmt.Appendf(nil, `{"op":"note","key":"note:%d","val":{"text":%q,"x":%d,"y":%d,"color":"#fff59d"},"client":%q,"seq":%d}`,
			n, strings.Join(words, " "), g.rng.IntN(1200), g.rng.IntN(800), c.id, c.seq)
	case p < 12:
		g.step(c)
		return fmt.Appendf(nil, `{"op":"del","key":"px:%d:%d","client":%q,"seq":%d}`, c.x, c.y, c.id, c.seq)
	default:
		g.step(c)
		return fmt.Appendf(nil, `{"op":"set","key":"px:%d:%d","val":%q,"client":%q,"seq":%d}`, c.x, c.y, c.color, c.id, c.seq)
	}
}

// step moves c's pen one pixel along its stroke, starting a new stroke
// somewhere else, possibly in a new colour, when the last one ended.
func (g *demoGen) step(c *demoClient) {
	if c.stroke == 0 {
		c.stroke = 5 + g.rng.IntN(40)
		c.x, c.y = g.rng.IntN(demoBoard), g.rng.IntN(demoBoard)
		if c.color == "" || g.rng.IntN(3) == 0 {
			c.color = demoPalette[g.rng.IntN(len(demoPalette))]
		}
		return
	}
	c.stroke--
	c.x = min(max(c.x+g.rng.IntN(3)-1, 0), demoBoard-1)
	c.y = min(max(c.y+g.rng.IntN(3)-1, 0), demoBoard-1)
}

// entries returns n consecutive entries of one term from index first.
func (g *demoGen) entries(n int, term, first uint64) []raft.Entry {
	ents := make([]raft.Entry, n)
	for i := range ents {
		ents[i] = raft.Entry{Term: term, Index: first + uint64(i), Type: raft.EntryNormal, Data: g.op()}
	}
	return ents
}

// demoBatchSizes are the MsgApp batch sizes of the workload, 10 to 500.
var demoBatchSizes = [...]int{10, 25, 50, 100, 200, 500}

// demoWorkload returns count MsgApps as a leader sends them in the demo:
// batches of 10 to 500 operations, sizes drawn log-uniformly.
func demoWorkload(seed uint64, count int) []raft.Message {
	g := newDemoGen(seed, 4)
	msgs := make([]raft.Message, count)
	index := uint64(1000)
	for i := range msgs {
		n := int(math.Round(math.Exp(math.Log(10) + g.rng.Float64()*(math.Log(500)-math.Log(10)))))
		msgs[i] = demoMsgApp(g, n, index)
		index += uint64(n)
	}
	return msgs
}

func demoMsgApp(g *demoGen, n int, index uint64) raft.Message {
	return raft.Message{Type: raft.MsgApp, From: 1, To: 2, Term: 7, LogTerm: 7, Index: index - 1,
		Commit: index - 1, Entries: g.entries(n, 7, index)}
}

// entryBytes is the operations' own size: the sum of the entries' data.
func entryBytes(m raft.Message) int {
	n := 0
	for _, e := range m.Entries {
		n += len(e.Data)
	}
	return n
}
