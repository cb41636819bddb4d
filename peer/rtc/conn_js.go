//go:build js

package rtc

import (
	"errors"
	"fmt"
	"sync"

	"github.com/hack-pad/safejs"

	"github.com/tabraft/tabraft/internal/jspromise"
	"github.com/tabraft/tabraft/signaling"
)

// Under GOOS=js the transport drives the browser's RTCPeerConnection and
// RTCDataChannel through safejs. The browser makes every network choice:
// nothing of Config's native settings applies. Event handlers only copy
// what they need out of JavaScript and hand it to the transport's
// callbacks, which do not block; Promises are awaited by the link's
// goroutine, never inside a handler.

// ICEServer is a STUN or TURN server: the signaling protocol's, which the
// browser takes as it is (natively, pion's, which has the same fields).
type ICEServer = signaling.ICEServer

// errClosing ends an operation still waiting when the transport closes.
var errClosing = errors.New("the transport is closing")

// newAPI returns the browser's WebRTC.
func newAPI(*Config) rtcAPI { return browserAPI{} }

// browserAPI makes the browser's peer connections.
type browserAPI struct{}

func (browserAPI) newPeerConn(ice []ICEServer, done <-chan struct{}) (peerConn, error) {
	ctor, err := safejs.Global().Get("RTCPeerConnection")
	if err != nil || ctor.Type() != safejs.TypeFunction {
		return nil, errors.New("this browser has no RTCPeerConnection")
	}
	servers := make([]any, 0, len(ice))
	for _, s := range ice {
		urls := make([]any, len(s.URLs))
		for i, u := range s.URLs {
			urls[i] = u
		}
		srv := map[string]any{"urls": urls}
		if s.Username != "" {
			srv["username"] = s.Username
		}
		if s.Credential != "" {
			srv["credential"] = s.Credential
		}
		servers = append(servers, srv)
	}
	v, err := ctor.New(map[string]any{"iceServers": servers})
	if err != nil {
		return nil, fmt.Errorf("new RTCPeerConnection: %w", err)
	}
	return &jsPC{handlers: handlers{v: v}, done: done}, nil
}

// handlers installs Go functions as the event handlers of a JavaScript
// object (onopen and the like) and releases them all at once.
type handlers struct {
	v safejs.Value

	mu       sync.Mutex
	props    []string
	funcs    []safejs.Func
	released bool
}

// on sets the handler property prop to fn, which is given the event. fn
// runs inside the browser's event dispatch: it must not block. (A handler
// that cannot be installed, which would take a broken JavaScript
// environment, leaves the connection to its connect timeout.)
func (h *handlers) on(prop string, fn func(ev safejs.Value)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released {
		return
	}
	f, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		ev := safejs.Undefined()
		if len(args) > 0 {
			ev = args[0]
		}
		fn(ev)
		return nil
	})
	if err != nil {
		return
	}
	h.props = append(h.props, prop)
	h.funcs = append(h.funcs, f)
	_ = h.v.Set(prop, f)
}

// release removes and frees every handler, once; later ones are not
// installed. Events already dispatched find no handler.
func (h *handlers) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released {
		return
	}
	h.released = true
	for i, f := range h.funcs {
		_ = h.v.Set(h.props[i], nil)
		f.Release()
	}
	h.props, h.funcs = nil, nil
}

// jsPC is an RTCPeerConnection.
type jsPC struct {
	handlers
	done <-chan struct{}
}

func (p *jsPC) onICECandidate(f func(candidateInit)) {
	p.on("onicecandidate", func(ev safejs.Value) {
		if c, ok := candidateOf(ev); ok {
			f(c)
		}
	})
}

// candidateOf returns the candidate of an icecandidate event, as its
// toJSON gives it; false at the end of gathering.
func candidateOf(ev safejs.Value) (candidateInit, bool) {
	c, err := ev.Get("candidate")
	if err != nil || c.IsNull() || c.IsUndefined() {
		return candidateInit{}, false
	}
	init, err := c.Call("toJSON")
	if err != nil {
		return candidateInit{}, false
	}
	s := optString(init, "candidate")
	if s == nil || *s == "" {
		return candidateInit{}, false
	}
	ci := candidateInit{
		Candidate:        *s,
		SDPMid:           optString(init, "sdpMid"),
		UsernameFragment: optString(init, "usernameFragment"),
	}
	if i, err := init.Get("sdpMLineIndex"); err == nil && i.Type() == safejs.TypeNumber {
		if n, err := i.Int(); err == nil && n >= 0 && n <= 0xffff {
			u := uint16(n)
			ci.SDPMLineIndex = &u
		}
	}
	return ci, true
}

// optString returns the string property prop of v, or nil.
func optString(v safejs.Value, prop string) *string {
	p, err := v.Get(prop)
	if err != nil || p.Type() != safejs.TypeString {
		return nil
	}
	s, err := p.String()
	if err != nil {
		return nil
	}
	return &s
}

func (p *jsPC) onConnectionStateChange(f func(pcState)) {
	p.on("onconnectionstatechange", func(safejs.Value) {
		if s := optString(p.v, "connectionState"); s != nil {
			f(pcState(*s))
		}
	})
}

func (p *jsPC) onDataChannel(f func(dataChannel)) {
	p.on("ondatachannel", func(ev safejs.Value) {
		if dc, err := ev.Get("channel"); err == nil && !dc.IsNull() && !dc.IsUndefined() {
			f(newJSChannel(dc))
		}
	})
}

func (p *jsPC) createDataChannel(label string) (dataChannel, error) {
	dc, err := p.v.Call("createDataChannel", label)
	if err != nil {
		return nil, fmt.Errorf("createDataChannel: %w", err)
	}
	return newJSChannel(dc), nil
}

func (p *jsPC) createOffer() (string, error)  { return p.describe("createOffer") }
func (p *jsPC) createAnswer() (string, error) { return p.describe("createAnswer") }

// describe creates the local description with method and sets it.
func (p *jsPC) describe(method string) (string, error) {
	desc, err := p.await(method)
	if err != nil {
		return "", err
	}
	if _, err := p.await("setLocalDescription", desc); err != nil {
		return "", err
	}
	sdp := optString(desc, "sdp")
	if sdp == nil {
		return "", fmt.Errorf("%s: no SDP", method)
	}
	return *sdp, nil
}

func (p *jsPC) setRemoteDescription(typ, sdp string) error {
	_, err := p.await("setRemoteDescription", map[string]any{"type": typ, "sdp": sdp})
	return err
}

func (p *jsPC) addICECandidate(c candidateInit) error {
	init := map[string]any{"candidate": c.Candidate, "sdpMid": nil, "sdpMLineIndex": nil, "usernameFragment": nil}
	if c.SDPMid != nil {
		init["sdpMid"] = *c.SDPMid
	}
	if c.SDPMLineIndex != nil {
		init["sdpMLineIndex"] = int(*c.SDPMLineIndex)
	}
	if c.UsernameFragment != nil {
		init["usernameFragment"] = *c.UsernameFragment
	}
	_, err := p.await("addIceCandidate", init)
	return err
}

func (p *jsPC) channelBytesSent() (uint64, error) {
	report, err := p.await("getStats")
	if err != nil {
		return 0, err
	}
	var sent uint64
	found := false
	each, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		if len(args) == 0 {
			return nil
		}
		st := args[0]
		if typ := optString(st, "type"); typ == nil || *typ != "data-channel" {
			return nil
		}
		if lbl := optString(st, "label"); lbl == nil || *lbl != channelLabel {
			return nil
		}
		if v, err := st.Get("bytesSent"); err == nil && v.Type() == safejs.TypeNumber {
			if n, err := v.Float(); err == nil && n >= 0 {
				sent, found = uint64(n), true
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("getStats: %w", err)
	}
	defer each.Release()
	if _, err := report.Call("forEach", each); err != nil {
		return 0, fmt.Errorf("getStats: %w", err)
	}
	if !found {
		return 0, errNoChannelStats
	}
	return sent, nil
}

func (p *jsPC) close() {
	p.release()
	_, _ = p.v.Call("close")
}

// await calls method, which returns a Promise, and waits for it to settle
// or for the transport to close. It must not be called from an event
// handler.
func (p *jsPC) await(method string, args ...any) (safejs.Value, error) {
	promise, err := p.v.Call(method, args...)
	if err != nil {
		return safejs.Undefined(), fmt.Errorf("%s: %w", method, err)
	}
	v, err := jspromise.Await(p.done, promise)
	switch {
	case errors.Is(err, jspromise.ErrGaveUp):
		return v, fmt.Errorf("%s: %w", method, errClosing)
	case err != nil:
		return v, fmt.Errorf("%s: %w", method, err)
	}
	return v, nil
}

// jsChannel is an RTCDataChannel.
type jsChannel struct {
	handlers
	u8 safejs.Value // the Uint8Array constructor
}

func newJSChannel(v safejs.Value) *jsChannel {
	u8, _ := safejs.Global().Get("Uint8Array")
	return &jsChannel{handlers: handlers{v: v}, u8: u8}
}

func (c *jsChannel) label() string {
	if s := optString(c.v, "label"); s != nil {
		return *s
	}
	return ""
}

// newReceiver installs the channel's onmessage handler: it copies each
// message out of JavaScript at once and queues it in event order; the
// connection's reader takes them from the queue. It is called as soon as
// the channel exists: from the goroutine that created it, which does not
// yield to the browser before, or inside the datachannel event's handler.
func (c *jsChannel) newReceiver(cfg *Config) receiver {
	q := newRxQueue(cfg.MaxReceiveBytes, maxDataChannelMessage)
	if err := c.v.Set("binaryType", "arraybuffer"); err != nil {
		q.pushErr(fmt.Errorf("set binaryType: %w", err))
	}
	c.on("onmessage", func(ev safejs.Value) {
		b, err := c.copyData(ev, maxDataChannelMessage)
		if err != nil {
			q.pushErr(err)
			return
		}
		q.push(b)
	})
	return jsReceiver{q}
}

// copyData copies a message event's data, an ArrayBuffer or a string, to
// Go; errRxTooBig for a message over maxMsg bytes.
func (c *jsChannel) copyData(ev safejs.Value, maxMsg int) ([]byte, error) {
	data, err := ev.Get("data")
	if err != nil {
		return nil, fmt.Errorf("read data channel message: %w", err)
	}
	if data.Type() == safejs.TypeString {
		s, err := data.String()
		if err == nil && len(s) > maxMsg {
			err = errRxTooBig
		}
		return []byte(s), err
	}
	n := -1
	if l, err := data.Get("byteLength"); err == nil && l.Type() == safejs.TypeNumber {
		n, _ = l.Int()
	}
	switch {
	case n < 0:
		return nil, errors.New("data channel message neither ArrayBuffer nor string")
	case n > maxMsg:
		return nil, fmt.Errorf("%w: %d bytes", errRxTooBig, n)
	}
	u8, err := c.u8.New(data)
	if err != nil {
		return nil, fmt.Errorf("read data channel message: %w", err)
	}
	b := make([]byte, n)
	if _, err := safejs.CopyBytesToGo(b, u8); err != nil {
		return nil, fmt.Errorf("read data channel message: %w", err)
	}
	return b, nil
}

func (c *jsChannel) setBufferedAmountLowThreshold(n uint64) {
	_ = c.v.Set("bufferedAmountLowThreshold", float64(n))
}

func (c *jsChannel) onBufferedAmountLow(f func()) {
	c.on("onbufferedamountlow", func(safejs.Value) { f() })
}

func (c *jsChannel) onOpen(f func())  { c.on("onopen", func(safejs.Value) { f() }) }
func (c *jsChannel) onClose(f func()) { c.on("onclose", func(safejs.Value) { f() }) }

func (c *jsChannel) isOpen() bool {
	s := optString(c.v, "readyState")
	return s != nil && *s == "open"
}

// send copies b into a new Uint8Array and queues it; the browser throws,
// and send fails, when the channel is not open or its buffer is full.
func (c *jsChannel) send(b []byte) error {
	u8, err := c.u8.New(len(b))
	if err == nil {
		_, err = safejs.CopyBytesToJS(u8, b)
	}
	if err == nil {
		_, err = c.v.Call("send", u8)
	}
	if err != nil {
		return fmt.Errorf("data channel send: %w", err)
	}
	return nil
}

func (c *jsChannel) bufferedAmount() uint64 {
	v, err := c.v.Get("bufferedAmount")
	if err != nil {
		return 0
	}
	n, err := v.Float()
	if err != nil || n < 0 {
		return 0
	}
	return uint64(n)
}

func (c *jsChannel) close() {
	c.release()
	_, _ = c.v.Call("close")
}

// jsReceiver drains the queue the channel's onmessage handler fills. Its
// handler is released with the channel.
type jsReceiver struct{ q *rxQueue }

func (r jsReceiver) open() error                 { return nil }
func (r jsReceiver) next([]byte) ([]byte, error) { return r.q.next() }
func (r jsReceiver) close()                      { r.q.close() }
