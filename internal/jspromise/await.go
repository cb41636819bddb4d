//go:build js

// Package jspromise waits for JavaScript Promises from Go, through safejs.
package jspromise

import (
	"errors"
	"fmt"

	"github.com/hack-pad/safejs"
)

// ErrGaveUp is returned when done closed before the Promise settled.
var ErrGaveUp = errors.New("gave up waiting for the promise")

// Await waits for p to settle and returns its value, or its rejection as
// an error ("Name: message" of a DOMException or Error). It must run on a
// goroutine, never inside a JavaScript callback (which would deadlock the
// program). It gives up when done closes; its callbacks then stay
// installed, since the Promise may still settle and calling a released
// function would crash the program.
func Await(done <-chan struct{}, p safejs.Value) (safejs.Value, error) {
	type outcome struct {
		v   safejs.Value
		err error
	}
	settled := make(chan outcome, 1) // a Promise settles once: never blocks
	resolve, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		settled <- outcome{v: first(args)}
		return nil
	})
	if err != nil {
		return safejs.Undefined(), err
	}
	reject, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		settled <- outcome{err: Reason(first(args))}
		return nil
	})
	if err != nil {
		resolve.Release()
		return safejs.Undefined(), err
	}
	release := func() { resolve.Release(); reject.Release() }
	if _, err := p.Call("then", resolve, reject); err != nil {
		release()
		return safejs.Undefined(), fmt.Errorf("then: %w", err)
	}
	select {
	case o := <-settled:
		release()
		return o.v, o.err
	case <-done:
		return safejs.Undefined(), ErrGaveUp
	}
}

// Reason describes the reason of a rejected Promise.
func Reason(v safejs.Value) error {
	name, msg := str(v, "name"), str(v, "message")
	if name != "" && msg != "" {
		return fmt.Errorf("%s: %s", name, msg)
	}
	if s, err := v.String(); err == nil && s != "" {
		return errors.New(s)
	}
	return errors.New("rejected")
}

func str(v safejs.Value, prop string) string {
	if v.Type() != safejs.TypeObject {
		return ""
	}
	p, err := v.Get(prop)
	if err != nil || p.Type() != safejs.TypeString {
		return ""
	}
	s, _ := p.String()
	return s
}

func first(args []safejs.Value) safejs.Value {
	if len(args) == 0 {
		return safejs.Undefined()
	}
	return args[0]
}
