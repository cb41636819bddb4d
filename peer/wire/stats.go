package wire

import "sync/atomic"

// Stats counts what encoders and decoders did. The zero value is ready; it is
// safe for concurrent use (updates and reads are atomic), so a metrics page
// can read it while connections run. Read it with Snapshot.
type Stats struct {
	messagesSent, fragmentsSent, rawBytesSent, wireBytesSent atomic.Uint64
	compressedSent                                           atomic.Uint64

	messagesReceived, fragmentsReceived, rawBytesReceived, wireBytesReceived atomic.Uint64

	partialsDiscarded, fragmentsSkipped atomic.Uint64
	rejected                            [NumReasons]atomic.Uint64
}

// Counters is a point-in-time copy of Stats. Raw bytes are what a message's
// encoding would take with its payload uncompressed; wire bytes are the
// fragments, headers included.
type Counters struct {
	MessagesSent   uint64 // messages encoded
	FragmentsSent  uint64 // fragments produced
	RawBytesSent   uint64 // encoded size with payloads uncompressed
	WireBytesSent  uint64 // bytes of the fragments
	CompressedSent uint64 // messages whose payload went compressed

	MessagesReceived  uint64 // messages decoded
	FragmentsReceived uint64 // fragments fed, accepted or not
	RawBytesReceived  uint64 // decoded messages' size with payloads decompressed
	WireBytesReceived uint64 // bytes of the fragments fed

	// PartialsDiscarded counts messages dropped before their final
	// fragment: a new message began (a reset or reconnect cut the last one
	// short), Reset was called, or a later fragment was rejected.
	PartialsDiscarded uint64
	// FragmentsSkipped counts the later fragments of a message already
	// rejected: they are dropped without a second error.
	FragmentsSkipped uint64
	// Rejected counts rejected inputs by reason.
	Rejected [NumReasons]uint64
}

// TotalRejected sums Rejected.
func (c Counters) TotalRejected() uint64 {
	var n uint64
	for _, v := range c.Rejected {
		n += v
	}
	return n
}

// Snapshot returns the current counters. Each counter is read atomically;
// the set is not one atomic cut across counters.
func (s *Stats) Snapshot() Counters {
	c := Counters{
		MessagesSent:      s.messagesSent.Load(),
		FragmentsSent:     s.fragmentsSent.Load(),
		RawBytesSent:      s.rawBytesSent.Load(),
		WireBytesSent:     s.wireBytesSent.Load(),
		CompressedSent:    s.compressedSent.Load(),
		MessagesReceived:  s.messagesReceived.Load(),
		FragmentsReceived: s.fragmentsReceived.Load(),
		RawBytesReceived:  s.rawBytesReceived.Load(),
		WireBytesReceived: s.wireBytesReceived.Load(),
		PartialsDiscarded: s.partialsDiscarded.Load(),
		FragmentsSkipped:  s.fragmentsSkipped.Load(),
	}
	for i := range s.rejected {
		c.Rejected[i] = s.rejected[i].Load()
	}
	return c
}
