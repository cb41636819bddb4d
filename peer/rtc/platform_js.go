//go:build js

package rtc

import (
	"sync"
	"syscall/js"

	"github.com/pion/webrtc/v4"
)

// newAPI returns the pion API of a transport. Under GOOS=js the browser
// makes every network choice; pion's SettingEngine has nothing to set here
// (its DetachDataChannels would not help: pion's detached channel is fed by
// one goroutine per message, which loses their order).
func newAPI(*Config) *webrtc.API { return webrtc.NewAPI() }

// jsReceiver installs its own onmessage handler on the RTCDataChannel: the
// handler copies each message out of JavaScript at once, without blocking,
// and queues it in event order; the connection's reader takes them from
// the queue. (pion's OnMessage would run each message on a new goroutine.)
type jsReceiver struct {
	dc *webrtc.DataChannel
	q  *rxQueue

	mu      sync.Mutex
	fn      js.Func
	removed bool
}

// newReceiver must be called as soon as dc exists, before it can deliver a
// message: from the goroutine that created it, or from OnDataChannel's
// callback, which runs before the browser dispatches the next event.
func newReceiver(dc *webrtc.DataChannel, cfg *Config) receiver {
	r := &jsReceiver{dc: dc, q: newRxQueue(cfg.MaxReceiveBytes, maxDataChannelMessage)}
	v := dc.JSValue()
	v.Set("binaryType", "arraybuffer")
	r.fn = js.FuncOf(func(this js.Value, args []js.Value) any {
		if len(args) == 0 {
			return nil
		}
		if b, ok := jsBytes(args[0].Get("data"), maxDataChannelMessage); ok {
			r.q.push(b)
		} else {
			r.q.pushTooBig()
		}
		return nil
	})
	v.Set("onmessage", r.fn)
	return r
}

// jsBytes copies an ArrayBuffer (or a string) to Go; false for a message
// over maxMsg bytes.
func jsBytes(data js.Value, maxMsg int) ([]byte, bool) {
	if data.Type() == js.TypeString {
		s := data.String()
		return []byte(s), len(s) <= maxMsg
	}
	u8 := js.Global().Get("Uint8Array").New(data)
	n := u8.Get("length").Int()
	if n > maxMsg {
		return nil, false
	}
	b := make([]byte, n)
	js.CopyBytesToGo(b, u8)
	return b, true
}

func (r *jsReceiver) open() error { return nil }

func (r *jsReceiver) next([]byte) ([]byte, error) { return r.q.next() }

func (r *jsReceiver) close() {
	r.q.close()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.removed {
		return
	}
	r.removed = true
	r.dc.JSValue().Set("onmessage", js.Null())
	r.fn.Release()
}
