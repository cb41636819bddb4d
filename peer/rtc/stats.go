package rtc

import (
	"time"

	"github.com/tabraft/tabraft/peer/wire"
	"github.com/tabraft/tabraft/raft"
)

// Stats is a snapshot of a transport, for the live cluster view.
type Stats struct {
	// Signaling tells whether the signaling connection is up; Joins counts
	// the times the room was joined (1 + reconnections).
	Signaling bool
	Joins     uint64
	// DroppedNoPeer counts messages sent to members not in the room.
	DroppedNoPeer uint64
	// Peers are the members in the room, by id.
	Peers []PeerStats
}

// PeerStats describes the link to one member.
type PeerStats struct {
	ID      raft.NodeID
	State   State
	Since   time.Time // when State began
	Session uint64    // the current session number (0 when waiting)
	Offerer bool      // this side offers

	// Opens counts the connections opened, Failures those that failed
	// (or were replaced) before or after opening.
	Opens, Failures uint64

	// MessagesQueued counts the messages Send accepted for this peer (the
	// encoder's count, Wire.MessagesSent, may include a few it then
	// dropped).
	MessagesQueued uint64
	// QueuedBytes and QueuedMessages wait for the data channel;
	// BufferedAmount waits inside it.
	QueuedBytes, QueuedMessages int
	BufferedAmount              uint64
	// WriterPauses counts the writer's waits for BufferedAmount to fall;
	// StaleBuffered the connections whose BufferedAmount stopped following
	// what the channel transmitted (a browser's bug the writer works
	// around by reading the connection's statistics).
	WriterPauses, StaleBuffered uint64

	// Messages dropped by Send: no open connection, queue full, not
	// encodable; and queued messages dropped when a connection ended.
	DroppedNoConnection, DroppedQueueFull, DroppedUnencodable, DroppedOnReset uint64

	// Received messages dropped: From was not this peer (Impersonations),
	// To was not this member (Misaddressed). DecodeErrors counts rejected
	// fragments (by reason in Wire.Rejected); GarbageResets the connections
	// reset for too many of them.
	Impersonations, Misaddressed, DecodeErrors, GarbageResets uint64

	// Wire has the codec's counters: messages and bytes sent and received,
	// raw (uncompressed) and on the wire.
	Wire wire.Counters
}

// Reconnects counts the connections opened after the first.
func (p PeerStats) Reconnects() uint64 {
	if p.Opens == 0 {
		return 0
	}
	return p.Opens - 1
}

// Dropped sums the messages to this peer that Send dropped or a reset
// discarded.
func (p PeerStats) Dropped() uint64 {
	return p.DroppedNoConnection + p.DroppedQueueFull + p.DroppedUnencodable + p.DroppedOnReset
}

// Stats returns the transport's counters and the state of every link.
func (t *Transport) Stats() Stats {
	t.mu.Lock()
	s := Stats{Signaling: t.sigUp, Joins: t.joins}
	t.mu.Unlock()
	s.DroppedNoPeer = t.dropped.Load()
	for _, l := range t.linkList() {
		s.Peers = append(s.Peers, l.stats())
	}
	return s
}

// PeerStats returns the stats of the link to id, if id is in the room.
func (t *Transport) PeerStats(id raft.NodeID) (PeerStats, bool) {
	l := t.linkOf(id)
	if l == nil {
		return PeerStats{}, false
	}
	return l.stats(), true
}

func (l *link) stats() PeerStats {
	p := PeerStats{ID: l.id, Offerer: l.offerer}
	l.stateMu.Lock()
	p.State, p.Since, p.Session = l.state, l.since, l.session
	l.stateMu.Unlock()
	if s := l.liveSession(); s != nil {
		p.QueuedBytes, p.QueuedMessages = s.q.len()
		if dc, _ := s.channel(); dc != nil {
			p.BufferedAmount = dc.bufferedAmount()
		}
	}
	c := &l.c
	p.Opens, p.Failures = c.opens.Load(), c.failures.Load()
	p.WriterPauses, p.MessagesQueued = c.writerPauses.Load(), c.queued.Load()
	p.StaleBuffered = c.staleBuffered.Load()
	p.DroppedNoConnection, p.DroppedQueueFull = c.dropNoConn.Load(), c.dropFull.Load()
	p.DroppedUnencodable, p.DroppedOnReset = c.dropUnencodable.Load(), c.dropOnReset.Load()
	p.Impersonations, p.Misaddressed = c.impersonations.Load(), c.misaddressed.Load()
	p.DecodeErrors, p.GarbageResets = c.decodeErrors.Load(), c.badResets.Load()
	p.Wire = l.wstats.Snapshot()
	return p
}
