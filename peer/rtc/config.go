package rtc

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tabraft/tabraft/peer/wire"
	"github.com/tabraft/tabraft/raft"
	"github.com/tabraft/tabraft/signaling"
	"github.com/tabraft/tabraft/signaling/client"
)

// Config configures a Transport. Zero fields take the defaults given with
// them; ID, SignalURL and Room are required.
type Config struct {
	// ID is this member's raft id; its signaling member id is the id in
	// lower-case hexadecimal.
	ID raft.NodeID
	// SignalURL is the signaling server's WebSocket (ws://host/ws).
	SignalURL string
	// Room is the signaling room of the cluster.
	Room string
	// ICEServers are the STUN/TURN servers to use. Nil: those of the
	// signaling server's welcome.
	ICEServers []ICEServer
	// Logger receives the transport's logs. Nil discards them.
	Logger *slog.Logger
	// Seed seeds the jitter of the retry delays and the negotiation session
	// numbers. Zero: a random seed.
	Seed uint64
	// SignalOptions tune the signaling client (headers, HTTP client).
	SignalOptions *client.Options

	// InboxSize is the capacity of the Inbox channel. Default 1024.
	InboxSize int
	// MaxQueueBytes bounds the encoded bytes waiting to be handed to one
	// peer's data channel. A Send that would exceed it is dropped and the
	// peer reported unreachable; a message larger than the bound is still
	// accepted into an empty queue. Default 8 MiB.
	MaxQueueBytes int
	// HighWater is the data channel's BufferedAmount above which the
	// writer pauses; it resumes when BufferedAmount falls to LowWater
	// (OnBufferedAmountLow). Defaults 256 KiB and 64 KiB. (Natively, on
	// loopback, a high water of 512 KiB and more let pion's SCTP burst
	// past the 208 KiB UDP socket buffer now and then, and the losses
	// cost stalls of a second; 256 KiB still allows ~2.5 MB/s per peer at
	// 100 ms of round trip.)
	HighWater, LowWater uint64
	// MaxReceiveBytes bounds the fragments received but not yet decoded
	// under GOOS=js, where the browser delivers them whether or not the
	// member keeps up; past it the connection is reset. Natively the data
	// channel itself pushes back. Default 8 MiB.
	MaxReceiveBytes int
	// Limits bound the messages encoded and decoded; every member should
	// use the same. Zero fields take wire's defaults.
	Limits wire.Limits
	// CompressThreshold is passed to the wire encoder (0: its default).
	CompressThreshold int
	// MaxDecodeErrors is how many undecodable fragments one connection may
	// deliver before it is reset. Default 16.
	MaxDecodeErrors int

	// BackoffBase and BackoffMax bound the delays between reconnection
	// attempts (exponential with jitter). Defaults 250 ms and 15 s.
	BackoffBase, BackoffMax time.Duration
	// ConnectTimeout bounds one attempt, from the offer to an open data
	// channel. Default 15 s.
	ConnectTimeout time.Duration
	// HelloDelay is how long the answering side of a pair waits for an
	// offer before asking for one. Default 2 s.
	HelloDelay time.Duration
	// SignalTimeout bounds one signaling write and the join. Default 10 s.
	SignalTimeout time.Duration

	// Loopback gathers loopback ICE candidates only (natively; ignored
	// under GOOS=js). For members on one machine, tests above all: it
	// works in a loopback-only network namespace and connects in a few
	// milliseconds.
	Loopback bool
	// ICEDisconnectedTimeout, ICEFailedTimeout and ICEKeepalive are pion's
	// ICE timers (natively; the browser has its own). Defaults 4 s, 8 s and
	// 1 s: a silent peer is given up after 8 s.
	ICEDisconnectedTimeout, ICEFailedTimeout, ICEKeepalive time.Duration
}

// withDefaults checks c and fills in its zero fields.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.ID == raft.None {
		errs = append(errs, errors.New("ID is zero"))
	}
	if c.SignalURL == "" {
		errs = append(errs, errors.New("SignalURL is empty"))
	}
	if err := signaling.ValidateRoom(c.Room); err != nil {
		errs = append(errs, err)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	ints := []struct {
		name string
		v    *int
		def  int
	}{
		{"InboxSize", &c.InboxSize, 1024},
		{"MaxQueueBytes", &c.MaxQueueBytes, 8 << 20},
		{"MaxReceiveBytes", &c.MaxReceiveBytes, 8 << 20},
		{"MaxDecodeErrors", &c.MaxDecodeErrors, 16},
	}
	for _, f := range ints {
		switch {
		case *f.v == 0:
			*f.v = f.def
		case *f.v < 0:
			errs = append(errs, fmt.Errorf("%s is %d; it must be positive", f.name, *f.v))
		}
	}
	durs := []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"BackoffBase", &c.BackoffBase, 250 * time.Millisecond},
		{"BackoffMax", &c.BackoffMax, 15 * time.Second},
		{"ConnectTimeout", &c.ConnectTimeout, 15 * time.Second},
		{"HelloDelay", &c.HelloDelay, 2 * time.Second},
		{"SignalTimeout", &c.SignalTimeout, 10 * time.Second},
		{"ICEDisconnectedTimeout", &c.ICEDisconnectedTimeout, 4 * time.Second},
		{"ICEFailedTimeout", &c.ICEFailedTimeout, 8 * time.Second},
		{"ICEKeepalive", &c.ICEKeepalive, time.Second},
	}
	for _, f := range durs {
		switch {
		case *f.v == 0:
			*f.v = f.def
		case *f.v < 0:
			errs = append(errs, fmt.Errorf("%s is %v; it must be positive", f.name, *f.v))
		}
	}
	if c.HighWater == 0 {
		c.HighWater = 256 << 10
	}
	if c.LowWater == 0 {
		c.LowWater = c.HighWater / 4
	}
	if c.LowWater >= c.HighWater {
		errs = append(errs, fmt.Errorf("LowWater %d must be below HighWater %d", c.LowWater, c.HighWater))
	}
	if c.BackoffMax < c.BackoffBase {
		errs = append(errs, fmt.Errorf("BackoffMax %v is below BackoffBase %v", c.BackoffMax, c.BackoffBase))
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("rtc config: %w", err)
	}
	return c, nil
}
