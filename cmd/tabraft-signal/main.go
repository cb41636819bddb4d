// Command tabraft-signal is the tabraft signaling server: the one binary to
// deploy. It introduces browser tabs (and native members) to each other so
// that they can open WebRTC connections, and serves the pages, the wasm
// build and wasm_exec.js.
//
// Every flag can also be given as an environment variable: TABRAFT_ and the
// flag name in capitals with '-' as '_' (-allowed-origins is
// TABRAFT_ALLOWED_ORIGINS). A flag on the command line wins over the
// environment. Run with -h for the list.
//
// SIGTERM or SIGINT shuts the server down gracefully: /healthz turns 503,
// WebSocket clients are closed with "going away" (1001), and the process
// exits once they are gone or -shutdown-timeout has passed.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tabraft/tabraft/signaling"
	"github.com/tabraft/tabraft/signaling/server"
	"github.com/tabraft/tabraft/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stderr, nil)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "tabraft-signal:", err)
		os.Exit(1)
	}
}

// options are the command line, after the environment.
type options struct {
	addr            string
	allowedOrigins  string
	tlsCert         string
	tlsKey          string
	wasmDir         string
	stunURLs        string
	turnURLs        string
	turnUsername    string
	turnCredential  string
	maxMessageBytes int
	maxRooms        int
	maxMembers      int
	maxConns        int
	rate            float64
	burst           int
	pingInterval    time.Duration
	pingTimeout     time.Duration
	writeTimeout    time.Duration
	shutdownTimeout time.Duration
	logLevel        string
	logFormat       string
}

// envName is the environment variable of a flag.
func envName(flagName string) string {
	return "TABRAFT_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseOptions reads the flags from getenv, then from args.
func parseOptions(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("tabraft-signal", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "`host:port` to listen on (\":8080\" for every interface)")
	fs.StringVar(&o.allowedOrigins, "allowed-origins", "", "comma-separated `patterns` of other origins whose pages may use the WebSocket (e.g. \"*.example.org,https://app.example.net\"); the server's own origin is always allowed")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate `file` (PEM); with -tls-key, serve HTTPS and WSS")
	fs.StringVar(&o.tlsKey, "tls-key", "", "TLS private key `file` (PEM)")
	fs.StringVar(&o.wasmDir, "wasm-dir", "", "`directory` holding tabraft.wasm (and tabraft.wasm.br / .gz, precompressed; and wasm_exec.js)")
	fs.StringVar(&o.stunURLs, "stun-urls", "", "comma-separated STUN `URLs` handed to the pages (e.g. \"stun:stun.example.org:3478\")")
	fs.StringVar(&o.turnURLs, "turn-urls", "", "comma-separated TURN `URLs` handed to the pages (e.g. \"turn:turn.example.org:3478?transport=udp,turns:turn.example.org:5349\")")
	fs.StringVar(&o.turnUsername, "turn-username", "", "TURN `username` (visible to every page)")
	fs.StringVar(&o.turnCredential, "turn-credential", "", "TURN `password` (visible to every page)")
	fs.IntVar(&o.maxMessageBytes, "max-message-bytes", 64<<10, "longest message a client may send, in `bytes`")
	fs.IntVar(&o.maxRooms, "max-rooms", 10_000, "most rooms at once")
	fs.IntVar(&o.maxMembers, "max-members", 64, "most members of one room")
	fs.IntVar(&o.maxConns, "max-conns", 10_000, "most WebSocket connections at once")
	fs.Float64Var(&o.rate, "rate", 50, "messages per second one connection may send, sustained")
	fs.IntVar(&o.burst, "burst", 200, "messages one connection may send at once")
	fs.DurationVar(&o.pingInterval, "ping-interval", 5*time.Second, "time between keep-alive pings")
	fs.DurationVar(&o.pingTimeout, "ping-timeout", 3*time.Second, "time to wait for a pong before dropping a connection")
	fs.DurationVar(&o.writeTimeout, "write-timeout", 10*time.Second, "time to write one message before dropping a connection")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 15*time.Second, "time to close connections on SIGTERM")
	fs.StringVar(&o.logLevel, "log-level", "info", "`level`: debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "text", "`format`: text or json")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: tabraft-signal [flags]\n\nThe tabraft signaling server. Each flag may be set by the environment variable named after it.\n\n")
		fs.VisitAll(func(f *flag.Flag) {
			name, usage := flag.UnquoteUsage(f)
			fmt.Fprintf(fs.Output(), "  -%s %s\n\t%s (env %s", f.Name, name, usage, envName(f.Name))
			if f.DefValue != "" {
				fmt.Fprintf(fs.Output(), ", default %q", f.DefValue)
			}
			fmt.Fprintln(fs.Output(), ")")
		})
	}

	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		env := envName(f.Name)
		if v := getenv(env); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("environment variable %s=%q: %w", env, v, err))
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return options{}, err
	}
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return options{}, errors.New("-tls-cert and -tls-key go together")
	}
	return o, nil
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// iceServers builds the ICE server list from the options.
func (o options) iceServers() ([]signaling.ICEServer, error) {
	var servers []signaling.ICEServer
	if urls := splitList(o.stunURLs); len(urls) > 0 {
		servers = append(servers, signaling.ICEServer{URLs: urls})
	}
	turn := splitList(o.turnURLs)
	switch {
	case len(turn) > 0:
		servers = append(servers, signaling.ICEServer{URLs: turn, Username: o.turnUsername, Credential: o.turnCredential})
	case o.turnUsername != "" || o.turnCredential != "":
		return nil, errors.New("-turn-username and -turn-credential need -turn-urls")
	}
	return servers, nil
}

// newLogger makes the logger the options ask for.
func (o options) newLogger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	hopts := &slog.HandlerOptions{Level: level}
	switch o.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, hopts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, hopts)), nil
	}
	return nil, fmt.Errorf("-log-format %q: want text or json", o.logFormat)
}

// run runs the server until ctx is done, then shuts it down. If ready is
// not nil, it is called with the listening address once the server listens.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, ready func(net.Addr)) error {
	o, err := parseOptions(args, getenv, stderr)
	if err != nil {
		return err
	}
	log, err := o.newLogger(stderr)
	if err != nil {
		return err
	}
	ice, err := o.iceServers()
	if err != nil {
		return err
	}
	cfg := server.Config{
		Logger:            log,
		AllowedOrigins:    splitList(o.allowedOrigins),
		ICEServers:        ice,
		MaxMessageBytes:   o.maxMessageBytes,
		MaxRooms:          o.maxRooms,
		MaxMembersPerRoom: o.maxMembers,
		MaxConns:          o.maxConns,
		MessageRate:       o.rate,
		MessageBurst:      o.burst,
		PingInterval:      o.pingInterval,
		PingTimeout:       o.pingTimeout,
		WriteTimeout:      o.writeTimeout,
		Pages:             web.FS(),
	}
	if o.wasmDir != "" {
		info, err := os.Stat(o.wasmDir)
		if err != nil {
			return fmt.Errorf("-wasm-dir: %w", err)
		}
		if !info.IsDir() {
			return fmt.Errorf("-wasm-dir %s is not a directory", o.wasmDir)
		}
		cfg.Wasm = os.DirFS(o.wasmDir)
		if _, err := fs.Stat(cfg.Wasm, server.WasmName); err != nil {
			log.Warn("no tabraft.wasm in the wasm directory yet; /tabraft.wasm answers 404 until it is built", "dir", o.wasmDir)
		}
	} else {
		log.Info("no -wasm-dir: /tabraft.wasm answers 404")
	}
	cfg.WasmExecJS = findWasmExec(cfg.Wasm, getenv, log)

	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	httpSrv := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return fmt.Errorf("load TLS certificate: %w", err)
		}
		httpSrv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.Info("signaling server listening", "addr", ln.Addr().String(), "tls", o.tlsCert != "",
		"allowed_origins", cfg.AllowedOrigins, "ice_servers", len(ice))
	if ready != nil {
		ready(ln.Addr())
	}
	served := make(chan error, 1)
	go func() {
		if httpSrv.TLSConfig != nil {
			served <- httpSrv.ServeTLS(ln, "", "")
		} else {
			served <- httpSrv.Serve(ln)
		}
	}()

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", o.shutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	// The HTTP server stops accepting and drains plain requests while the
	// signaling server closes its WebSockets, which the HTTP server no
	// longer tracks once upgraded.
	var wg sync.WaitGroup
	var httpErr, sigErr error
	wg.Go(func() { httpErr = httpSrv.Shutdown(sctx) })
	wg.Go(func() { sigErr = srv.Shutdown(sctx) })
	wg.Wait()
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		httpErr = errors.Join(httpErr, err)
	}
	if err := errors.Join(httpErr, sigErr); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("shut down cleanly")
	return nil
}

// findWasmExec returns Go's wasm_exec.js loader: from the wasm directory if
// it has one (what a deployment does), else from the Go installation this
// runs on or was built with (what `go run` gets). It logs where it was
// found, or that it was not.
func findWasmExec(wasm fs.FS, getenv func(string) string, log *slog.Logger) []byte {
	if wasm != nil {
		if b, err := fs.ReadFile(wasm, "wasm_exec.js"); err == nil {
			log.Info("serving wasm_exec.js from the wasm directory")
			return b
		}
	}
	var roots []string
	if r := getenv("GOROOT"); r != "" {
		roots = append(roots, r)
	}
	//lint:ignore SA1019 the GOROOT of the build is the right guess for `go run` and `go build` on the machine that serves.
	if r := runtime.GOROOT(); r != "" {
		roots = append(roots, r)
	}
	for _, root := range roots {
		// lib/wasm since Go 1.24, misc/wasm before.
		for _, dir := range []string{"lib/wasm", "misc/wasm"} {
			p := filepath.Join(root, dir, "wasm_exec.js")
			if b, err := os.ReadFile(p); err == nil {
				log.Info("serving wasm_exec.js from the Go installation", "path", p)
				return b
			}
		}
	}
	log.Warn("wasm_exec.js not found (not in -wasm-dir, nor under GOROOT): /wasm_exec.js answers 404", "goroots", roots)
	return nil
}
