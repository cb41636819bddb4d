//go:build js

package wasm

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/hack-pad/safejs"
)

// jsRuntime holds the JavaScript objects the binding uses, looked up once.
type jsRuntime struct {
	global, promiseCtor, errorCtor, json, object, queueMicrotask, console safejs.Value
}

func newRuntime() (*jsRuntime, error) {
	g := safejs.Global()
	rt := &jsRuntime{global: g}
	for name, dst := range map[string]*safejs.Value{
		"Promise": &rt.promiseCtor, "Error": &rt.errorCtor, "JSON": &rt.json, "Object": &rt.object,
		"queueMicrotask": &rt.queueMicrotask, "console": &rt.console,
	} {
		v, err := g.Get(name)
		if err != nil || v.IsUndefined() {
			return nil, fmt.Errorf("no %s in this JavaScript environment", name)
		}
		*dst = v
	}
	return rt, nil
}

// newError returns a JavaScript Error with msg (the message itself if even
// that fails).
func (rt *jsRuntime) newError(msg string) any {
	e, err := rt.errorCtor.New(msg)
	if err != nil {
		return msg
	}
	return e
}

// promise returns a Promise settled by run, which runs on a goroutine of
// its own (the executor only starts it: nothing blocks in JavaScript's
// stack). An error rejects it with an Error of Message(err).
func (rt *jsRuntime) promise(run func() (any, error)) safejs.Value {
	exec, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		if len(args) < 2 {
			return nil
		}
		resolve, reject := args[0], args[1]
		go func() {
			v, err := run()
			if err != nil {
				_, _ = reject.Invoke(rt.newError(Message(err)))
				return
			}
			if _, err := resolve.Invoke(v); err != nil {
				_, _ = reject.Invoke(rt.newError(Message(fmt.Errorf("converting the result: %w", err))))
			}
		}()
		return nil
	})
	if err != nil {
		return rt.rejected(err)
	}
	defer exec.Release() // the constructor calls the executor at once, and never again
	p, err := rt.promiseCtor.New(exec.Value())
	if err != nil {
		return safejs.Undefined()
	}
	return p
}

// rejected returns a Promise rejected with an Error of Message(err).
func (rt *jsRuntime) rejected(err error) safejs.Value {
	p, jerr := rt.promiseCtor.Call("reject", rt.newError(Message(err)))
	if jerr != nil {
		return safejs.Undefined()
	}
	return p
}

// parse turns JSON into a JavaScript value.
func (rt *jsRuntime) parse(b []byte) (safejs.Value, error) {
	return rt.json.Call("parse", string(b))
}

// stringify turns a JavaScript value into JSON.
func (rt *jsRuntime) stringify(v safejs.Value) ([]byte, error) {
	s, err := rt.json.Call("stringify", v)
	if err != nil {
		return nil, err
	}
	if s.Type() != safejs.TypeString {
		return nil, errors.New("not representable as JSON")
	}
	str, err := s.String()
	return []byte(str), err
}

// later calls fn(arg) from a microtask: after the Go code that asked for it
// returned to JavaScript, never inside Go's stack, and an exception it
// throws is the page's (reported in the console), not Go's.
func (rt *jsRuntime) later(fn safejs.Value, arg any) error {
	bound, err := fn.Call("bind", safejs.Null(), arg)
	if err != nil {
		return err
	}
	_, err = rt.queueMicrotask.Invoke(bound)
	return err
}

// function wraps fn as a JavaScript function that is never released (the
// objects holding it live as long as the page). A panic in fn is logged and
// answered with undefined rather than ending the Go program.
func (rt *jsRuntime) function(log *slog.Logger, name string, fn func(this safejs.Value, args []safejs.Value) any) (safejs.Func, error) {
	return safejs.FuncOf(func(this safejs.Value, args []safejs.Value) (result any) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic in a JavaScript call", "method", name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				result = safejs.Undefined()
			}
		}()
		return fn(this, args)
	})
}

// consoleLogger logs to the browser console at level.
func (rt *jsRuntime) consoleLogger(level slog.Level) *slog.Logger {
	return slog.New(NewLineHandler(level, func(l slog.Level, line string) {
		method := "log"
		switch {
		case l >= slog.LevelError:
			method = "error"
		case l >= slog.LevelWarn:
			method = "warn"
		case l < slog.LevelInfo:
			method = "debug"
		}
		_, _ = rt.console.Call(method, "tabraft: "+line)
	}))
}

// field returns obj[name], or undefined when obj is not an object.
func field(obj safejs.Value, name string) safejs.Value {
	if obj.Type() != safejs.TypeObject {
		return safejs.Undefined()
	}
	v, err := obj.Get(name)
	if err != nil {
		return safejs.Undefined()
	}
	return v
}

// absent reports whether v is undefined or null.
func absent(v safejs.Value) bool { return v.IsUndefined() || v.IsNull() }

// optString reads an optional string option.
func optString(obj safejs.Value, name, def string) (string, error) {
	v := field(obj, name)
	if absent(v) {
		return def, nil
	}
	if v.Type() != safejs.TypeString {
		return "", fmt.Errorf("%s must be a string", name)
	}
	return v.String()
}

// optNumber reads an optional integer option.
func optNumber(obj safejs.Value, name string, def int) (int, error) {
	v := field(obj, name)
	if absent(v) {
		return def, nil
	}
	if v.Type() != safejs.TypeNumber {
		return 0, fmt.Errorf("%s must be a number", name)
	}
	f, err := v.Float()
	if err != nil {
		return 0, err
	}
	if f != float64(int(f)) {
		return 0, fmt.Errorf("%s must be an integer", name)
	}
	return int(f), nil
}

// optBool reads an optional boolean option.
func optBool(obj safejs.Value, name string, def bool) (bool, error) {
	v := field(obj, name)
	if absent(v) {
		return def, nil
	}
	if v.Type() != safejs.TypeBoolean {
		return false, fmt.Errorf("%s must be a boolean", name)
	}
	return v.Bool()
}

// version names this build: the module's version, or dev and the commit.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return "dev"
	}
	return "dev+" + rev + dirty
}
