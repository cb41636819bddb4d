package rtc

import "errors"

// The seam between the transport and a WebRTC implementation: pion's
// natively (conn_native.go), the browser's RTCPeerConnection and
// RTCDataChannel under GOOS=js (conn_js.go). The methods mirror the W3C
// API. Callbacks must not block: under GOOS=js they run inside the
// browser's event handlers, natively on pion's goroutines.

// rtcAPI makes the peer connections of a transport.
type rtcAPI interface {
	// newPeerConn makes a peer connection using the given STUN/TURN
	// servers. Its operations give up when done is closed (the transport
	// closes), should the implementation wait for them.
	newPeerConn(ice []ICEServer, done <-chan struct{}) (peerConn, error)
}

// peerConn is one peer connection. Only the link's goroutine calls its
// methods, except close.
type peerConn interface {
	// onICECandidate calls f with each local candidate gathered (not with
	// the end of gathering).
	onICECandidate(f func(candidateInit))
	// onConnectionStateChange calls f when the connection state changes.
	onConnectionStateChange(f func(pcState))
	// onDataChannel calls f with each data channel the peer creates.
	onDataChannel(f func(dataChannel))
	// createDataChannel creates an ordered, reliable data channel.
	createDataChannel(label string) (dataChannel, error)
	// createOffer and createAnswer create the local description, set it,
	// and return its SDP.
	createOffer() (string, error)
	createAnswer() (string, error)
	// setRemoteDescription sets the peer's offer or answer (typ is
	// kindOffer or kindAnswer).
	setRemoteDescription(typ, sdp string) error
	addICECandidate(c candidateInit) error
	// channelBytesSent returns the payload bytes the connection's data
	// channel has transmitted, from the connection's statistics
	// (getStats). It may wait for them.
	channelBytesSent() (uint64, error)
	// close ends the connection and releases its callbacks. It may take
	// a while natively.
	close()
}

// dataChannel is the data channel of a connection.
type dataChannel interface {
	label() string
	// newReceiver returns the channel's receiver. It must be called as
	// soon as the channel exists, before it can deliver a message.
	newReceiver(cfg *Config) receiver
	setBufferedAmountLowThreshold(n uint64)
	onBufferedAmountLow(f func())
	onOpen(f func())
	onClose(f func())
	isOpen() bool
	// send queues b; it does not block.
	send(b []byte) error
	bufferedAmount() uint64
	// close closes the channel and releases its callbacks and receiver.
	close()
}

// errNoChannelStats: the connection's statistics have no data channel.
var errNoChannelStats = errors.New("no data channel in the connection's statistics")

// candidateInit is an ICE candidate as it travels in an envelope: the JSON
// of RTCIceCandidateInit, field for field pion's ICECandidateInit (whose
// JSON it must stay identical to, so that tabs and native members
// understand each other).
type candidateInit struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex"`
	UsernameFragment *string `json:"usernameFragment"`
}

// pcState is a peer connection's state, named as RTCPeerConnectionState
// (and pion's PeerConnectionState.String) names it.
type pcState string

// The states that end a connection.
const (
	pcDisconnected pcState = "disconnected"
	pcFailed       pcState = "failed"
	pcClosed       pcState = "closed"
)
