//go:build js

package jspromise

import (
	"strings"
	"testing"

	"github.com/hack-pad/safejs"
)

func eval(t *testing.T, js string) safejs.Value {
	t.Helper()
	v, err := safejs.Global().Call("eval", js)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAwait(t *testing.T) {
	v, err := Await(nil, eval(t, `Promise.resolve(42)`))
	if n, _ := v.Int(); err != nil || n != 42 {
		t.Errorf("resolved: %v, %v", n, err)
	}
	_, err = Await(nil, eval(t, `Promise.reject(new DOMException("no way", "InvalidStateError"))`))
	if err == nil || err.Error() != "InvalidStateError: no way" {
		t.Errorf("rejected: %v", err)
	}
	_, err = Await(nil, eval(t, `Promise.reject("plain")`))
	if err == nil || !strings.Contains(err.Error(), "plain") {
		t.Errorf("rejected with a string: %v", err)
	}
	// Given up on; it settles later, and nothing crashes.
	done := make(chan struct{})
	close(done)
	if _, err := Await(done, eval(t, `new Promise(r => setTimeout(() => r(1), 10))`)); err != ErrGaveUp {
		t.Errorf("given up: %v", err)
	}
	v, err = Await(nil, eval(t, `new Promise(r => setTimeout(() => r(2), 30))`))
	if n, _ := v.Int(); err != nil || n != 2 {
		t.Errorf("after an abandoned promise settled: %v, %v", n, err)
	}
}
