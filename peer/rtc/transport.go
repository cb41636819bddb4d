package rtc

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/tabraft/tabraft/raft"
	"github.com/tabraft/tabraft/signaling/client"
)

// PeerEvent says that a member joined the room (Present) or left it.
// Events are coalesced per member: a consumer that falls behind gets, for
// each member that changed, its latest presence.
type PeerEvent struct {
	ID      raft.NodeID
	Present bool
}

// Transport is the WebRTC transport of one member: a data channel to every
// other member of the room. It implements peer.Transport.
type Transport struct {
	cfg     Config
	log     *slog.Logger
	self    string // signaling member id
	api     rtcAPI
	backoff *backoff

	ctx    context.Context // canceled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine of the transport

	inbox       chan raft.Message
	unreachable *coalescer[raft.NodeID]
	peers       *coalescer[PeerEvent]
	session     atomic.Uint64 // the last session number offered

	mu      sync.Mutex
	links   map[raft.NodeID]*link // the members in the room
	gone    map[raft.NodeID]*link // links removed whose goroutine may still run
	ice     []ICEServer
	sig     *client.Client // the current signaling connection, or nil
	sigUp   bool
	closed  bool
	joins   uint64
	dropped atomic.Uint64 // messages for members not in the room

	closeOnce sync.Once
}

// New joins cfg.Room on the signaling server and returns the transport,
// which then connects to every member of the room and keeps doing so as
// members come and go. ctx bounds the first dial and join only; Close ends
// the transport. If the signaling connection is lost later, the transport
// dials again with backoff.
func New(ctx context.Context, cfg Config) (*Transport, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	seed := cfg.Seed
	if seed == 0 {
		var b [8]byte
		crand.Read(b[:])
		seed = binary.LittleEndian.Uint64(b[:])
	}
	t := &Transport{
		cfg:         cfg,
		self:        memberID(cfg.ID),
		backoff:     &backoff{base: cfg.BackoffBase, max: cfg.BackoffMax, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))},
		inbox:       make(chan raft.Message, cfg.InboxSize),
		unreachable: newCoalescer[raft.NodeID](),
		peers:       newCoalescer[PeerEvent](),
		links:       make(map[raft.NodeID]*link),
		gone:        make(map[raft.NodeID]*link),
		ice:         cfg.ICEServers,
	}
	t.log = cfg.Logger.With("member", t.self)
	t.api = newAPI(&t.cfg)
	// Session numbers start at random so that a restarted member does not
	// reuse its previous numbers; they stay below 2^52 to be exact in JSON
	// anywhere.
	t.session.Store(t.backoff.uint64() >> 13)

	c, w, err := t.dialJoin(ctx)
	if err != nil {
		return nil, err
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.wg.Add(3)
	go func() { defer t.wg.Done(); t.unreachable.run(t.ctx.Done()) }()
	go func() { defer t.wg.Done(); t.peers.run(t.ctx.Done()) }()
	t.enterRoom(c, w)
	go t.signalLoop(c)
	return t, nil
}

// ID returns the member's raft id.
func (t *Transport) ID() raft.NodeID { return t.cfg.ID }

// Send queues m for m.To and returns at once. It drops m, and reports m.To
// on Unreachable, when m.To has no open connection or its queue is full.
// m is encoded before Send returns: the caller may reuse its memory. Send
// is safe for concurrent use; messages to one member go out in the order
// their Sends returned.
func (t *Transport) Send(m raft.Message) {
	l := t.linkOf(m.To)
	if l == nil {
		t.dropped.Add(1)
		if m.To != raft.None && m.To != t.cfg.ID {
			t.unreachable.raise(m.To, m.To)
		}
		return
	}
	if !l.send(m) {
		t.unreachable.raise(m.To, m.To)
	}
}

// Inbox delivers the messages received, those of one sender in the order
// it sent them. Messages whose From is not the connection's peer, or whose
// To is not this member, are dropped (and counted in Stats).
func (t *Transport) Inbox() <-chan raft.Message { return t.inbox }

// Unreachable reports members a message could not be delivered to: a Send
// dropped, or a connection lost. Reports are coalesced: a member appears
// at most once until it is read, so an unread channel costs nothing.
func (t *Transport) Unreachable() <-chan raft.NodeID { return t.unreachable.out }

// Peers reports members joining and leaving the room (see PeerEvent).
func (t *Transport) Peers() <-chan PeerEvent { return t.peers.out }

// Members returns the other members in the room, sorted. From New's
// return on it holds at least those the room's welcome listed: a new member
// that finds it empty may found a cluster.
func (t *Transport) Members() []raft.NodeID {
	t.mu.Lock()
	defer t.mu.Unlock()
	ids := make([]raft.NodeID, 0, len(t.links))
	for id := range t.links {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Connected returns the members with an open data channel, sorted.
func (t *Transport) Connected() []raft.NodeID {
	var ids []raft.NodeID
	for _, l := range t.linkList() {
		l.stateMu.Lock()
		open := l.state == StateOpen
		l.stateMu.Unlock()
		if open {
			ids = append(ids, l.id)
		}
	}
	return ids
}

// Close leaves the room and closes every connection, waiting for the
// transport's goroutines to end. Inbox, Unreachable and Peers are not
// closed. Close is idempotent.
func (t *Transport) Close() error {
	t.closeOnce.Do(func() {
		t.mu.Lock()
		t.closed = true
		t.mu.Unlock()
		t.cancel()
		t.removeAll()
		t.wg.Wait()
	})
	return nil
}

func (t *Transport) linkOf(id raft.NodeID) *link {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.links[id]
}

// linkList returns the current links sorted by id.
func (t *Transport) linkList() []*link {
	t.mu.Lock()
	ls := make([]*link, 0, len(t.links))
	for _, l := range t.links {
		ls = append(ls, l)
	}
	t.mu.Unlock()
	slices.SortFunc(ls, func(a, b *link) int { return cmpID(a.id, b.id) })
	return ls
}

func cmpID(a, b raft.NodeID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// addLink starts the link to a member that is in the room.
func (t *Transport) addLink(id raft.NodeID) {
	t.mu.Lock()
	if t.closed || id == t.cfg.ID {
		t.mu.Unlock()
		return
	}
	if old := t.links[id]; old != nil {
		// Joined twice without leaving: start over.
		delete(t.links, id)
		t.gone[id] = old
		old.box.post(event{kind: evLeave})
	}
	l, err := newLink(t, id, t.gone[id])
	if err != nil {
		t.mu.Unlock()
		t.log.Error("link not started", "peer", memberID(id), "err", err)
		return
	}
	delete(t.gone, id)
	t.links[id] = l
	t.wg.Add(1)
	t.mu.Unlock()
	go l.run()
	t.peers.raise(id, PeerEvent{ID: id, Present: true})
}

// removeLink ends the link to a member that left the room.
func (t *Transport) removeLink(id raft.NodeID) {
	t.mu.Lock()
	l := t.links[id]
	if l != nil {
		delete(t.links, id)
		t.gone[id] = l
	}
	t.mu.Unlock()
	if l != nil {
		l.box.post(event{kind: evLeave})
		t.peers.raise(id, PeerEvent{ID: id, Present: false})
	}
}

// removeAll ends every link (the signaling connection was lost, or Close).
func (t *Transport) removeAll() {
	for _, l := range t.linkList() {
		t.removeLink(l.id)
	}
}

// forget drops a finished link from gone.
func (t *Transport) forget(l *link) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gone[l.id] == l {
		delete(t.gone, l.id)
	}
}

// nextSession returns a new session number for an offer.
func (t *Transport) nextSession() uint64 { return t.session.Add(1) }

func (t *Transport) iceServers() []ICEServer {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ice
}

// String names the transport in logs and test failures.
func (t *Transport) String() string { return fmt.Sprintf("rtc.Transport(%s)", t.self) }
