//go:build !js

package rtc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/pion/datachannel"
	"github.com/pion/ice/v4"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"
)

// udpSocketBuffer is the receive and send buffer asked for each UDP socket
// (Linux grants up to net.core.rmem_max and wmem_max). With the default
// 208 KiB, on a busy machine, SCTP bursts overflowed the receiving socket
// while its reader waited for a CPU: 30 to 240 datagrams lost per 20,000
// cluster writes, each a fast retransmit and a halved congestion window.
const udpSocketBuffer = 4 << 20

// bufferedNet is the standard network whose UDP sockets get
// udpSocketBuffer bytes of buffer.
type bufferedNet struct{ *stdnet.Net }

// ListenUDP opens a UDP socket and enlarges its buffers, as far as the
// system lets it (a refusal leaves the defaults).
func (n bufferedNet) ListenUDP(network string, addr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, addr)
	if err != nil {
		return nil, err
	}
	if b, ok := c.(interface {
		SetReadBuffer(int) error
		SetWriteBuffer(int) error
	}); ok {
		_ = b.SetReadBuffer(udpSocketBuffer)
		_ = b.SetWriteBuffer(udpSocketBuffer)
	}
	return c, nil
}

// newAPI returns the pion API of a transport: detached data channels (read
// by one goroutine, in order), IPv4 UDP with large socket buffers, no mDNS,
// the configured ICE timers, and with Loopback only loopback candidates.
func newAPI(cfg *Config) rtcAPI {
	var se webrtc.SettingEngine
	se.DetachDataChannels()
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(cfg.ICEDisconnectedTimeout, cfg.ICEFailedTimeout, cfg.ICEKeepalive)
	se.LoggerFactory = pionLoggerFactory{cfg.Logger}
	if n, err := stdnet.NewNet(); err == nil {
		se.SetNet(bufferedNet{n}) // else pion makes its own, with default buffers
	}
	if cfg.Loopback {
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	return pionAPI{webrtc.NewAPI(webrtc.WithSettingEngine(se))}
}

// detachReceiver reads a detached data channel: pion hands each message to
// the one goroutine that reads, in the order of the (ordered) channel, and
// a reader that stops reading stops the peer through SCTP flow control.
type detachReceiver struct {
	dc     *webrtc.DataChannel
	maxMsg int

	once sync.Once
	mu   sync.Mutex
	rwc  datachannel.ReadWriteCloser
	err  error
	shut bool
}

// open detaches the channel. pion wants it done in the OnOpen callback.
func (r *detachReceiver) open() error {
	r.once.Do(func() {
		rwc, err := r.dc.Detach()
		r.mu.Lock()
		defer r.mu.Unlock()
		switch {
		case err != nil:
			r.err = fmt.Errorf("detach data channel: %w", err)
		case r.shut:
			r.err = errRxClosed
			rwc.Close()
		default:
			r.rwc = rwc
		}
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (r *detachReceiver) next(buf []byte) ([]byte, error) {
	r.mu.Lock()
	rwc, err := r.rwc, r.err
	r.mu.Unlock()
	if rwc == nil {
		if err == nil {
			err = errors.New("data channel read before it opened")
		}
		return nil, err
	}
	n, _, err := rwc.ReadDataChannel(buf)
	switch {
	case errors.Is(err, io.ErrShortBuffer):
		return nil, fmt.Errorf("%w: %d bytes", errRxTooBig, n)
	case err != nil:
		return nil, fmt.Errorf("read data channel: %w", err)
	}
	return buf[:n], nil
}

func (r *detachReceiver) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.shut = true
	if r.rwc != nil {
		r.rwc.Close()
	}
}
