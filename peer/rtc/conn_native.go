//go:build !js

package rtc

import "github.com/pion/webrtc/v4"

// ICEServer is a STUN or TURN server: pion's (under GOOS=js, the signaling
// protocol's, which has the same fields).
type ICEServer = webrtc.ICEServer

// pionAPI makes pion peer connections.
type pionAPI struct{ api *webrtc.API }

func (a pionAPI) newPeerConn(ice []ICEServer, _ <-chan struct{}) (peerConn, error) {
	pc, err := a.api.NewPeerConnection(webrtc.Configuration{ICEServers: ice})
	if err != nil {
		return nil, err
	}
	return pionPC{pc}, nil
}

// pionPC is a pion peer connection.
type pionPC struct{ pc *webrtc.PeerConnection }

func (p pionPC) onICECandidate(f func(candidateInit)) {
	p.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			f(candidateInit(c.ToJSON()))
		}
	})
}

func (p pionPC) onConnectionStateChange(f func(pcState)) {
	p.pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) { f(pcState(st.String())) })
}

func (p pionPC) onDataChannel(f func(dataChannel)) {
	p.pc.OnDataChannel(func(dc *webrtc.DataChannel) { f(pionChannel{dc}) })
}

func (p pionPC) createDataChannel(label string) (dataChannel, error) {
	dc, err := p.pc.CreateDataChannel(label, nil)
	if err != nil {
		return nil, err
	}
	return pionChannel{dc}, nil
}

func (p pionPC) createOffer() (string, error) {
	return p.setLocal(p.pc.CreateOffer(nil))
}

func (p pionPC) createAnswer() (string, error) {
	return p.setLocal(p.pc.CreateAnswer(nil))
}

func (p pionPC) setLocal(desc webrtc.SessionDescription, err error) (string, error) {
	if err == nil {
		err = p.pc.SetLocalDescription(desc)
	}
	return desc.SDP, err
}

func (p pionPC) setRemoteDescription(typ, sdp string) error {
	return p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.NewSDPType(typ), SDP: sdp})
}

func (p pionPC) addICECandidate(c candidateInit) error {
	return p.pc.AddICECandidate(webrtc.ICECandidateInit(c))
}

// channelBytesSent: pion's bufferedAmount is exact, and its statistics
// leave out detached data channels, so natively the pacer never needs nor
// gets them.
func (p pionPC) channelBytesSent() (uint64, error) { return 0, errNoChannelStats }

func (p pionPC) close() { p.pc.Close() }

// pionChannel is a pion data channel.
type pionChannel struct{ dc *webrtc.DataChannel }

func (c pionChannel) label() string { return c.dc.Label() }

func (c pionChannel) newReceiver(*Config) receiver {
	return &detachReceiver{dc: c.dc, maxMsg: maxDataChannelMessage}
}

func (c pionChannel) setBufferedAmountLowThreshold(n uint64) { c.dc.SetBufferedAmountLowThreshold(n) }
func (c pionChannel) onBufferedAmountLow(f func())           { c.dc.OnBufferedAmountLow(f) }
func (c pionChannel) onOpen(f func())                        { c.dc.OnOpen(f) }
func (c pionChannel) onClose(f func())                       { c.dc.OnClose(f) }
func (c pionChannel) isOpen() bool                           { return c.dc.ReadyState() == webrtc.DataChannelStateOpen }
func (c pionChannel) send(b []byte) error                    { return c.dc.Send(b) }
func (c pionChannel) bufferedAmount() uint64                 { return c.dc.BufferedAmount() }
func (c pionChannel) close()                                 { c.dc.Close() }
