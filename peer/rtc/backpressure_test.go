//go:build !js

package rtc

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// TestBackpressure sends far more than a receiver reads: the receiver's
// inbox fills, it stops reading its data channel, the sender's
// BufferedAmount rises, its writer pauses and its queue fills. Send then
// drops and reports the receiver unreachable, and the memory in use stays
// bounded. Once the receiver reads again, what was not dropped arrives in
// order and new messages flow.
func TestBackpressure(t *testing.T) {
	url := startSignaling(t)
	room := roomName(t)
	const (
		queue = 256 << 10
		high  = 256 << 10
		entry = 8 << 10
	)
	cs := testConfig(url, room, 1)
	cs.MaxQueueBytes, cs.HighWater, cs.LowWater = queue, high, 64<<10
	cr := testConfig(url, room, 2)
	cr.InboxSize = 16
	s, r := start(t, cs), start(t, cr)
	waitMesh(t, s, r)

	// Incompressible entries, so that the bytes on the wire are real.
	rng := rand.New(rand.NewPCG(3, 4))
	data := make([]byte, entry)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()

	// Send as fast as the sender's queue takes it. Since the receiver
	// reads nothing, the queue stops draining once the receiver's inbox,
	// its SCTP buffer and the sender's channel buffer are full.
	var maxQueued int
	var maxBuffered uint64
	seq := uint64(0)
	for {
		room := poll(300*time.Millisecond, func() bool {
			p := peerStats(t, s, 2)
			maxQueued = max(maxQueued, p.QueuedBytes)
			maxBuffered = max(maxBuffered, p.BufferedAmount)
			return p.QueuedBytes+entry+64 <= queue
		})
		if !room {
			break
		}
		seq++
		s.Send(app(1, 2, seq, data))
		if seq > 16<<20/entry {
			t.Fatalf("16 MiB sent to a receiver that reads nothing, and the sender's queue still drains")
		}
	}
	// Stuck: what does not fit is dropped, and the receiver reported.
	for range 4 {
		s.Send(app(1, 2, seq+1, data))
	}
	waitUnreachable(t, s, 2)
	p := peerStats(t, s, 2)
	grown := int64(heap()) - int64(before)
	t.Logf("queued %d (%d KiB) before the sender stalled, dropped %d, writer pauses %d, max queued %d B, max buffered %d B, heap grew %d KiB",
		p.MessagesQueued, p.MessagesQueued*entry>>10, p.DroppedQueueFull, p.WriterPauses, maxQueued, maxBuffered, grown>>10)
	if p.DroppedQueueFull == 0 {
		t.Errorf("no message dropped for a full queue")
	}
	if p.WriterPauses == 0 {
		t.Errorf("the writer never paused for BufferedAmount")
	}
	if maxQueued > queue {
		t.Errorf("queued %d bytes, bound %d", maxQueued, queue)
	}
	if maxBuffered > high+16<<10 {
		t.Errorf("BufferedAmount reached %d, high water %d", maxBuffered, high)
	}
	// What is held is the queue, the channel's buffer, and the receiver's
	// SCTP buffer and inbox: a few MiB.
	if grown > 16<<20 {
		t.Errorf("heap grew by %d MiB", grown>>20)
	}

	// Read again: everything queued arrives, in order; then the link
	// carries new messages again.
	for i := uint64(1); i <= p.MessagesQueued; i++ {
		if m := recv(t, r); m.Index != i {
			t.Fatalf("got message %d, want %d", m.Index, i)
		}
	}
	s.Send(app(1, 2, 1<<40, nil))
	if m := recv(t, r); m.Index != 1<<40 {
		t.Errorf("after draining: got message %d, want %d", m.Index, uint64(1<<40))
	}
	if p := peerStats(t, s, 2); p.Failures != 0 {
		t.Errorf("the connection failed %d times under backpressure", p.Failures)
	}
}
