//go:build js

package rtc

import (
	"bytes"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hack-pad/safejs"
)

// These tests run in headless Chromium: scripts/jstest.sh ./peer/rtc

const jsWait = 20 * time.Second

// jsPair connects two browser peer connections of this page through the
// seam's interface, as two links would (the signaling server left out),
// and returns the offering side's channel and the answering side's.
func jsPair(t *testing.T, done <-chan struct{}) (a, b *jsPC, ca, cb dataChannel) {
	t.Helper()
	var api browserAPI
	newPC := func() (*jsPC, chan candidateInit) {
		pc, err := api.newPeerConn(nil, done)
		if err != nil {
			t.Fatal(err)
		}
		cands := make(chan candidateInit, 64)
		pc.onICECandidate(func(c candidateInit) { cands <- c })
		t.Cleanup(pc.close)
		return pc.(*jsPC), cands
	}
	a, candsA := newPC()
	b, candsB := newPC()
	chB := make(chan dataChannel, 1)
	b.onDataChannel(func(dc dataChannel) { chB <- dc })

	ca, err := a.createDataChannel(channelLabel)
	if err != nil {
		t.Fatal(err)
	}
	offer, err := a.createOffer()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.setRemoteDescription(kindOffer, offer); err != nil {
		t.Fatal(err)
	}
	answer, err := b.createAnswer()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.setRemoteDescription(kindAnswer, answer); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(jsWait)
	for cb == nil {
		select {
		case c := <-candsA:
			if err := b.addICECandidate(c); err != nil {
				t.Errorf("add candidate %+v: %v", c, err)
			}
		case c := <-candsB:
			if err := a.addICECandidate(c); err != nil {
				t.Errorf("add candidate %+v: %v", c, err)
			}
		case cb = <-chB:
		case <-deadline:
			t.Fatal("no data channel on the answering side")
		}
	}
	// Keep trickling until both channels open (the candidates' goroutine
	// ends with the test).
	go func() {
		for {
			select {
			case c := <-candsA:
				b.addICECandidate(c)
			case c := <-candsB:
				a.addICECandidate(c)
			case <-done:
				return
			}
		}
	}()
	return a, b, ca, cb
}

// waitOpen waits for dc's open event (or finds it open).
func waitOpen(t *testing.T, dc dataChannel) {
	t.Helper()
	opened := make(chan struct{}, 1)
	dc.onOpen(func() { opened <- struct{}{} })
	if dc.isOpen() {
		return
	}
	select {
	case <-opened:
	case <-time.After(jsWait):
		t.Fatal("data channel not open")
	}
}

func TestJSChannelDeliversInOrder(t *testing.T) {
	done := make(chan struct{})
	defer close(done)
	a, _, ca, cb := jsPair(t, done)
	cfg := Config{MaxReceiveBytes: 8 << 20}
	rx := cb.newReceiver(&cfg) // before cb can deliver anything
	low := make(chan struct{}, 1)
	ca.setBufferedAmountLowThreshold(64 << 10)
	ca.onBufferedAmountLow(func() {
		select {
		case low <- struct{}{}:
		default:
		}
	})
	waitOpen(t, ca)
	waitOpen(t, cb)
	if cb.label() != channelLabel {
		t.Errorf("label %q, want %q", cb.label(), channelLabel)
	}

	const n = 2000
	msg := func(i int) []byte {
		size := 1 + i%97
		if i%100 == 0 {
			size = maxDataChannelMessage
		}
		return bytes.Repeat([]byte{byte(i)}, size)
	}
	var sawBuffered atomic.Bool
	go func() {
		for i := range n {
			for ca.bufferedAmount() > 256<<10 {
				sawBuffered.Store(true)
				select {
				case <-low:
				case <-time.After(bufferPoll):
				}
			}
			if err := ca.send(msg(i)); err != nil {
				t.Errorf("send %d: %v", i, err)
				return
			}
		}
	}()
	for i := range n {
		b, err := rx.next(nil)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if want := msg(i); !bytes.Equal(b, want) {
			t.Fatalf("message %d: %d bytes starting %v, want %d bytes of %d", i, len(b), b[:1], len(want), byte(i))
		}
	}
	t.Logf("writer saw a full buffer: %t", sawBuffered.Load())

	// The statistics the writer falls back on count every payload byte.
	var total uint64
	for i := range n {
		total += uint64(len(msg(i)))
	}
	deadline := time.Now().Add(jsWait)
	for {
		sent, err := a.channelBytesSent()
		if err == nil && sent == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("channelBytesSent: %d, %v; want %d", sent, err, total)
		}
		time.Sleep(10 * time.Millisecond) // poll the statistics
	}

	// A message over the limit fails the receiver.
	if err := ca.send(make([]byte, maxDataChannelMessage+1)); err != nil {
		t.Fatal(err)
	}
	if _, err := rx.next(nil); !errors.Is(err, errRxTooBig) {
		t.Errorf("next after an oversized message: %v, want %v", err, errRxTooBig)
	}
}

func TestJSCloseReleasesHandlers(t *testing.T) {
	done := make(chan struct{})
	defer close(done)
	a, _, ca, cb := jsPair(t, done)
	closed := make(chan struct{}, 1)
	cb.onClose(func() { closed <- struct{}{} })
	waitOpen(t, ca)
	waitOpen(t, cb)

	jc := ca.(*jsChannel)
	ca.close()
	a.close()
	for _, h := range []struct {
		v    safejs.Value
		prop string
	}{{a.v, "onicecandidate"}, {jc.v, "onopen"}} {
		if v, err := h.v.Get(h.prop); err != nil || !v.IsNull() {
			t.Errorf("%s after close: %v, %v; want null", h.prop, v, err)
		}
	}
	if s := optString(a.v, "connectionState"); s == nil || pcState(*s) != pcClosed {
		t.Errorf("connectionState after close: %v", s)
	}
	if err := ca.send([]byte("x")); err == nil {
		t.Error("send on a closed channel succeeded")
	}
	// The other side sees its channel close.
	select {
	case <-closed:
	case <-time.After(jsWait):
		t.Error("no close event on the other side")
	}
	// Handlers set after close are not installed.
	ca.onOpen(func() {})
	if v, _ := jc.v.Get("onopen"); !v.IsNull() {
		t.Error("a handler was installed after close")
	}
}

func TestJSAwaitGivesUpOnClose(t *testing.T) {
	mk, err := safejs.Global().Get("Function")
	if err != nil {
		t.Fatal(err)
	}
	f, err := mk.New("return {never: () => new Promise(() => {}), fail: () => Promise.reject(new DOMException('no', 'InvalidStateError'))}")
	if err != nil {
		t.Fatal(err)
	}
	obj, err := f.Invoke()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	p := &jsPC{handlers: handlers{v: obj}, done: done}

	_, err = p.await("fail")
	if err == nil || err.Error() != "fail: InvalidStateError: no" {
		t.Errorf("rejected: %v", err)
	}
	res := make(chan error, 1)
	go func() {
		_, err := p.await("never")
		res <- err
	}()
	close(done)
	select {
	case err := <-res:
		if !errors.Is(err, errClosing) {
			t.Errorf("await after done: %v, want %v", err, errClosing)
		}
	case <-time.After(jsWait):
		t.Fatal("await did not give up")
	}
	if _, err := p.await("missing"); err == nil {
		t.Error("await of a missing method succeeded")
	}
}

func TestJSICEServers(t *testing.T) {
	pc, err := browserAPI{}.newPeerConn([]ICEServer{
		{URLs: []string{"stun:stun.test:3478"}},
		{URLs: []string{"turn:turn.test:3478", "turns:turn.test:5349"}, Username: "u", Credential: "p"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := pc.(*jsPC)
	defer p.close()
	conf, err := p.v.Call("getConfiguration")
	if err != nil {
		t.Fatal(err)
	}
	json, _ := safejs.Global().Get("JSON")
	s, err := json.Call("stringify", conf)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.String()
	for _, want := range []string{`"urls":["stun:stun.test:3478"]`, `"username":"u"`, `"credential":"p"`, `"turns:turn.test:5349"`} {
		if !bytes.Contains([]byte(got), []byte(want)) {
			t.Errorf("configuration %s lacks %s", got, want)
		}
	}
	if _, err := (browserAPI{}).newPeerConn([]ICEServer{{URLs: []string{"http://bad"}}}, nil); err == nil {
		t.Error("a bad ICE server URL was accepted")
	} else {
		t.Logf("bad URL refused: %v", err)
	}
}
