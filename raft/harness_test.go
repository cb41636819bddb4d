package raft

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// cluster is a test harness: members with memory storage and a network that
// delivers instantly, in order, unless a link is cut. It drives Ready/Advance
// exactly as a host must (persist, send, apply, advance).
type cluster struct {
	t       testing.TB
	nodes   map[NodeID]*Node
	stores  map[NodeID]*MemoryStorage
	applied map[NodeID][]Entry
	// state is each member's state machine: the commands it applied, in order.
	state map[NodeID][]string
	ids   []NodeID
	// reads collects the ReadStates each member's host received.
	reads map[NodeID][]ReadState
	// boot is the configuration each member was first started with.
	boot  map[NodeID][]NodeID
	cut   map[[2]NodeID]bool // cut[from,to]
	queue []Message
	// drop, when set, decides to lose a message (checked after cuts).
	drop func(Message) bool
	// tweak adjusts every node's config, on restarts too.
	tweak func(*Config)
}

func newCluster(t testing.TB, n int, tweak func(*Config)) *cluster {
	t.Helper()
	c := &cluster{t: t, nodes: map[NodeID]*Node{}, stores: map[NodeID]*MemoryStorage{},
		applied: map[NodeID][]Entry{}, state: map[NodeID][]string{}, boot: map[NodeID][]NodeID{}, reads: map[NodeID][]ReadState{}, cut: map[[2]NodeID]bool{}, tweak: tweak}
	for i := 1; i <= n; i++ {
		c.ids = append(c.ids, NodeID(i))
	}
	for _, id := range c.ids {
		c.stores[id] = NewMemoryStorage()
		c.boot[id] = c.ids
		c.start(id, nil)
	}
	return c
}

// start (re)creates node id from its storage; extra adjusts its config
// after the cluster-wide tweak.
func (c *cluster) start(id NodeID, extra func(*Config)) {
	c.t.Helper()
	cfg := &Config{ID: id, Voters: c.boot[id], Storage: c.stores[id],
		Rand: rand.New(rand.NewPCG(uint64(id), 42))}
	for _, f := range []func(*Config){c.tweak, extra} {
		if f != nil {
			f(cfg)
		}
	}
	nd, err := NewNode(cfg)
	if err != nil {
		c.t.Fatalf("NewNode(%d): %v", id, err)
	}
	c.nodes[id] = nd
	c.applied[id] = nil
	c.state[id] = nil
	if snap, _ := c.stores[id].Snapshot(); !snap.IsEmpty() {
		c.state[id] = decodeState(snap.Data)
	}
}

// join starts a brand-new member that knows no configuration: it waits
// for a leader to add it and send it the log or a snapshot.
func (c *cluster) join(id NodeID) {
	c.t.Helper()
	c.ids = append(c.ids, id)
	c.stores[id] = NewMemoryStorage()
	c.start(id, nil)
}

// compact snapshots id's state machine and compacts its log and storage.
func (c *cluster) compact(id NodeID) Snapshot {
	c.t.Helper()
	snap, err := c.nodes[id].Compact(encodeState(c.state[id]))
	if err != nil {
		c.t.Fatalf("compact %d: %v", id, err)
	}
	if err := c.stores[id].Compact(snap); err != nil {
		c.t.Fatalf("storage compact %d: %v", id, err)
	}
	return snap
}

// addLearners starts new members and has leader add them as learners, one
// change at a time.
func (c *cluster) addLearners(leader NodeID, ids ...NodeID) {
	c.t.Helper()
	for i, id := range ids {
		if i > 0 {
			c.tick(5) // the previous change must apply before the next
		}
		c.join(id)
		c.changeConf(leader, ConfChangeSingle{AddLearner, id})
	}
}

func (c *cluster) changeConf(id NodeID, changes ...ConfChangeSingle) {
	c.t.Helper()
	if err := c.nodes[id].ProposeConfChange(ConfChange{Changes: changes}); err != nil {
		c.t.Fatalf("conf change on %d: %v", id, err)
	}
	c.process()
}

func encodeState(cmds []string) []byte { return []byte(strings.Join(cmds, "\x00")) }

func decodeState(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\x00")
}

// restart simulates a crash: the node loses everything but its storage.
func (c *cluster) restart(id NodeID) {
	c.start(id, nil)
}

// process handles every pending Ready and delivers messages until quiet.
func (c *cluster) process() {
	c.t.Helper()
	for round := 0; round < 100000; round++ {
		progressed := false
		for _, id := range c.ids {
			nd := c.nodes[id]
			if nd == nil || !nd.HasReady() {
				continue
			}
			progressed = true
			rd := nd.Ready()
			if err := c.stores[id].Save(&rd); err != nil {
				c.t.Fatalf("node %d: save: %v", id, err)
			}
			for _, m := range rd.Messages {
				if !c.cut[[2]NodeID{m.From, m.To}] && (c.drop == nil || !c.drop(m)) {
					c.queue = append(c.queue, m)
				}
			}
			if !rd.Snapshot.IsEmpty() {
				c.state[id] = decodeState(rd.Snapshot.Data)
			}
			for _, e := range rd.CommittedEntries {
				if e.Type == EntryNormal && len(e.Data) > 0 {
					c.state[id] = append(c.state[id], string(e.Data))
				}
			}
			c.applied[id] = append(c.applied[id], rd.CommittedEntries...)
			c.reads[id] = append(c.reads[id], rd.ReadStates...)
			nd.Advance()
		}
		if len(c.queue) > 0 {
			progressed = true
			q := c.queue
			c.queue = nil
			for _, m := range q {
				if nd := c.nodes[m.To]; nd != nil {
					_ = nd.Step(m)
				}
			}
		}
		if !progressed {
			return
		}
	}
	c.t.Fatalf("cluster never went quiet")
}

// tick advances every live node by n ticks, processing after each.
func (c *cluster) tick(n int) {
	for i := 0; i < n; i++ {
		for _, id := range c.ids {
			if nd := c.nodes[id]; nd != nil {
				nd.Tick()
			}
		}
		c.process()
	}
}

func (c *cluster) campaign(id NodeID) {
	c.t.Helper()
	if err := c.nodes[id].Campaign(); err != nil {
		c.t.Fatalf("campaign %d: %v", id, err)
	}
	c.process()
}

func (c *cluster) leader() NodeID {
	var lead NodeID
	for _, id := range c.ids {
		if nd := c.nodes[id]; nd != nil && nd.r.role == Leader {
			if lead != None && c.nodes[lead].r.term == nd.r.term {
				c.t.Fatalf("two leaders in term %d: %d and %d", nd.r.term, lead, id)
			}
			if lead == None || nd.r.term > c.nodes[lead].r.term {
				lead = id
			}
		}
	}
	return lead
}

// isolate cuts every link to and from id.
func (c *cluster) isolate(id NodeID) {
	for _, o := range c.ids {
		if o != id {
			c.cut[[2]NodeID{id, o}] = true
			c.cut[[2]NodeID{o, id}] = true
		}
	}
}

func (c *cluster) heal() { c.cut = map[[2]NodeID]bool{} }

func (c *cluster) propose(id NodeID, data string) {
	c.t.Helper()
	if err := c.nodes[id].Propose([]byte(data)); err != nil {
		c.t.Fatalf("propose on %d: %v", id, err)
	}
	c.process()
}

// appliedData returns id's state machine: the commands it applied, in order.
func (c *cluster) appliedData(id NodeID) []string { return c.state[id] }

func (c *cluster) String() string {
	s := ""
	for _, id := range c.ids {
		if nd := c.nodes[id]; nd != nil {
			s += fmt.Sprintf("%d: %s term=%d %s\n", id, nd.r.role, nd.r.term, nd.r.log.String())
		}
	}
	return s
}
