//go:build !js

package rtc

import (
	"context"
	"encoding/json"
	"net"
	"testing"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/tabraft/tabraft/peer/wire"
	"github.com/tabraft/tabraft/raft"
	"github.com/tabraft/tabraft/signaling"
	"github.com/tabraft/tabraft/signaling/client"
)

// rawPeer is a hand-driven member: a bare signaling client and a bare pion
// peer connection, which can send anything on the data channel.
type rawPeer struct {
	t    *testing.T
	c    *client.Client
	to   string
	pc   *webrtc.PeerConnection
	dc   *webrtc.DataChannel
	open chan struct{}
}

// joinRaw joins room as member id.
func joinRaw(t *testing.T, url, room string, id, to raft.NodeID) *rawPeer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, err := client.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(c.CloseNow)
	if _, err := c.Join(ctx, room, memberID(id)); err != nil {
		t.Fatalf("join: %v", err)
	}
	return &rawPeer{t: t, c: c, to: memberID(to), open: make(chan struct{})}
}

// relay sends data as a relay of type typ.
func (p *rawPeer) relay(typ signaling.Type, data any) {
	p.t.Helper()
	b, err := json.Marshal(data)
	if err != nil {
		p.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := p.c.Relay(ctx, typ, p.to, b); err != nil {
		p.t.Fatalf("relay: %v", err)
	}
}

// connect offers a connection (with every candidate in the offer) as
// session, and takes the answer and candidates that come back.
func (p *rawPeer) connect(session uint64) {
	t := p.t
	t.Helper()
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	p.pc = pc
	if p.dc, err = pc.CreateDataChannel(channelLabel, nil); err != nil {
		t.Fatal(err)
	}
	p.dc.OnOpen(func() { close(p.open) })
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	p.relay(signaling.TypeOffer, envelope{Kind: kindOffer, Session: session, SDP: pc.LocalDescription().SDP})
	go func() {
		for {
			m, err := p.c.Recv(context.Background())
			if err != nil {
				return
			}
			if !m.Type.IsRelay() {
				continue
			}
			env, err := parseEnvelope(m.Type, m.Data)
			if err != nil || env.Session != session {
				continue
			}
			switch env.Kind {
			case kindAnswer:
				pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: env.SDP})
			case kindCandidate:
				for _, c := range env.Candidates {
					pc.AddICECandidate(webrtc.ICECandidateInit(c))
				}
			}
		}
	}()
}

func (p *rawPeer) send(b []byte) {
	p.t.Helper()
	if err := p.dc.Send(b); err != nil {
		p.t.Fatalf("raw send: %v", err)
	}
}

func (p *rawPeer) sendMsg(enc *wire.Encoder, m raft.Message) {
	p.t.Helper()
	frags, err := enc.Encode(m)
	if err != nil {
		p.t.Fatal(err)
	}
	for _, f := range frags {
		p.send(f)
	}
}

// TestHostilePeer has a peer send bad signaling envelopes, a bogus offer,
// garbage fragments, a message claiming another sender and one addressed
// to another member: all are dropped and counted, nothing panics, the good
// messages arrive, and a peer that keeps sending garbage is cut off.
func TestHostilePeer(t *testing.T) {
	url := startSignaling(t)
	room := roomName(t)
	cfg := testConfig(url, room, 2)
	cfg.MaxDecodeErrors = 8
	cfg.HelloDelay = waitTimeout // no hello of its own during the test
	tr := start(t, cfg)
	p := joinRaw(t, url, room, 1, 2)
	waitPeerEvent(t, tr, PeerEvent{ID: 1, Present: true})

	// Bad envelopes are ignored; a bogus offer fails that session only.
	p.relay(signaling.TypeOffer, map[string]any{"kind": "answer", "session": 1, "sdp": "x"})
	p.relay(signaling.TypeCandidate, "not an object")
	p.relay(signaling.TypeCandidate, envelope{Kind: kindCandidate, Session: 9, Candidates: []candidateInit{{Candidate: "junk"}}})
	p.relay(signaling.TypeOffer, envelope{Kind: kindOffer, Session: 5, SDP: "v=0\r\nthis is no sdp\r\n"})
	waitFor(t, "the bogus offer to fail", func() bool { return peerStats(t, tr, 1).Failures == 1 })

	p.connect(77)
	select {
	case <-p.open:
	case <-waitDeadline():
		t.Fatal("raw data channel not open")
	}
	waitFor(t, "the transport's side open", func() bool { return peerStats(t, tr, 1).State == StateOpen })

	enc, err := wire.NewEncoder(wire.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	p.send([]byte{0xde, 0xad, 0xbe, 0xef})            // unknown version
	p.send([]byte{wire.Version, 0, 0xff})             // unknown message type
	p.send([]byte{wire.Version, 1, 0, 0, 0, 9, 0, 3}) // split header cut short
	p.sendMsg(enc, app(1, 2, 1, []byte("good")))
	p.sendMsg(enc, app(3, 2, 1, []byte("impersonation")))
	p.sendMsg(enc, app(1, 4, 1, []byte("misaddressed")))
	p.sendMsg(enc, app(1, 2, 2, nil))
	for want := uint64(1); want <= 2; want++ {
		if m := recv(t, tr); m.From != 1 || m.Index != want {
			t.Fatalf("got %v, want message %d from 1", m, want)
		}
	}
	st := peerStats(t, tr, 1)
	if st.DecodeErrors != 3 || st.Impersonations != 1 || st.Misaddressed != 1 {
		t.Errorf("decode errors %d, impersonations %d, misaddressed %d; want 3, 1, 1", st.DecodeErrors, st.Impersonations, st.Misaddressed)
	}
	if st.Wire.TotalRejected() != 3 {
		t.Errorf("wire rejections %d, want 3 (%v)", st.Wire.TotalRejected(), st.Wire.Rejected)
	}

	// Garbage past MaxDecodeErrors resets the connection.
	for range cfg.MaxDecodeErrors {
		p.send([]byte("garbage!"))
	}
	waitUnreachable(t, tr, 1)
	waitFor(t, "the garbage reset", func() bool {
		s := peerStats(t, tr, 1)
		return s.GarbageResets == 1 && s.State != StateOpen
	})
	select {
	case m := <-tr.Inbox():
		t.Errorf("unexpected message %v", m)
	default:
	}
}
