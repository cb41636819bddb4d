//go:build js && wasm

package idbstore

import (
	"errors"
	"fmt"

	"github.com/hack-pad/go-indexeddb/idb"
	"github.com/hack-pad/safejs"
)

// jsEnv holds the browser objects the store needs, looked up once.
type jsEnv struct {
	factory    *idb.Factory
	uint8Array safejs.Value // the Uint8Array constructor
	keyRange   safejs.Value // IDBKeyRange
}

// newJSEnv finds IndexedDB. It fails, rather than panicking as
// idb.Global does, where there is none (a sandboxed frame, a worker
// without it, Node).
func newJSEnv() (*jsEnv, error) {
	g := safejs.Global()
	get := func(name string) (safejs.Value, error) {
		v, err := g.Get(name)
		if err != nil {
			return v, fmt.Errorf("idbstore: reading %s: %w", name, err)
		}
		if ok, err := v.Truthy(); err != nil || !ok {
			return v, fmt.Errorf("idbstore: %s is not available here", name)
		}
		return v, nil
	}
	factory, err := get("indexedDB")
	if err != nil {
		return nil, err
	}
	u8, err := get("Uint8Array")
	if err != nil {
		return nil, err
	}
	kr, err := get("IDBKeyRange")
	if err != nil {
		return nil, err
	}
	f, err := idb.WrapFactory(safejs.Unsafe(factory))
	if err != nil {
		return nil, fmt.Errorf("idbstore: %w", err)
	}
	return &jsEnv{factory: f, uint8Array: u8, keyRange: kr}, nil
}

// bytes copies b into a new Uint8Array.
func (e *jsEnv) bytes(b []byte) (safejs.Value, error) {
	a, err := e.uint8Array.New(len(b))
	if err != nil {
		return a, fmt.Errorf("idbstore: allocating %d bytes in JavaScript: %w", len(b), err)
	}
	if _, err := safejs.CopyBytesToJS(a, b); err != nil {
		return a, fmt.Errorf("idbstore: copying to JavaScript: %w", err)
	}
	return a, nil
}

// errNotBytes: a stored value that is not a Uint8Array.
var errNotBytes = errors.New("value is not a Uint8Array")

// readBytes copies a stored Uint8Array into Go memory.
func (e *jsEnv) readBytes(v safejs.Value) ([]byte, error) {
	if v.Type() != safejs.TypeObject {
		return nil, errNotBytes
	}
	if ok, err := v.InstanceOf(e.uint8Array); err != nil || !ok {
		return nil, errNotBytes
	}
	n, err := v.Length()
	if err != nil {
		return nil, fmt.Errorf("reading the length of a Uint8Array: %w", err)
	}
	b := make([]byte, n)
	if _, err := safejs.CopyBytesToGo(b, v); err != nil {
		return nil, fmt.Errorf("copying a Uint8Array: %w", err)
	}
	return b, nil
}

// key is a log index as an IndexedDB key: a number (exact up to maxIndex).
func key(i uint64) safejs.Value {
	// ValueOf cannot fail on a float64; were it to, the zero Value is not
	// a valid key and IndexedDB refuses the request.
	return number(float64(i))
}

// number is a JavaScript number.
func number(f float64) safejs.Value {
	v, _ := safejs.ValueOf(f) // cannot fail on a float64 (see key)
	return v
}

// stringKey is a string as an IndexedDB key.
func stringKey(s string) safejs.Value {
	v, _ := safejs.ValueOf(s) // cannot fail on a string (see key)
	return v
}

// keyIndex reads an entries key back.
func keyIndex(k safejs.Value) (uint64, error) {
	if k.Type() != safejs.TypeNumber {
		return 0, fmt.Errorf("key of type %v, not a number", k.Type())
	}
	f, err := k.Float()
	if err != nil {
		return 0, err
	}
	if f < 1 || f > maxIndex || f != float64(uint64(f)) {
		return 0, fmt.Errorf("key %v is not a log index", f)
	}
	return uint64(f), nil
}

// below is the key range of the indexes < i; from those >= i.
func (e *jsEnv) below(i uint64) (safejs.Value, error) {
	return e.keyRange.Call("upperBound", key(i), true)
}

func (e *jsEnv) from(i uint64) (safejs.Value, error) {
	return e.keyRange.Call("lowerBound", key(i), false)
}
