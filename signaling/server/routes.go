package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tabraft/tabraft/signaling"
)

// WasmName is the file name of the WebAssembly build, in Config.Wasm and in
// the URL path.
const WasmName = "tabraft.wasm"

// PageConfig is what /config.json tells the pages.
type PageConfig struct {
	// Version is the signaling protocol version.
	Version int `json:"version"`
	// SignalingPath is the path of the signaling WebSocket on this server.
	SignalingPath string `json:"signalingPath"`
	// ICEServers are the STUN/TURN servers, ready for RTCPeerConnection.
	ICEServers []signaling.ICEServer `json:"iceServers"`
	// MaxMessageBytes is the longest message the server accepts.
	MaxMessageBytes int `json:"maxMessageBytes"`
}

// routes builds the HTTP handler.
func (s *Server) routes() (http.Handler, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+WebSocketPath, s.serveWS)
	mux.HandleFunc("GET "+WebSocketAltPath, s.serveWS)
	mux.HandleFunc("GET /healthz", s.serveHealth)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelError),
	}))

	pageConfig, err := json.Marshal(PageConfig{
		Version:         signaling.Version,
		SignalingPath:   WebSocketPath,
		ICEServers:      s.cfg.ICEServers,
		MaxMessageBytes: s.cfg.MaxMessageBytes,
	})
	if err != nil {
		return nil, fmt.Errorf("encode page config: %w", err)
	}
	mux.HandleFunc("GET /config.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(pageConfig)
	})

	mux.Handle("GET /"+WasmName, &precompressed{
		fsys: s.cfg.Wasm, name: WasmName, contentType: "application/wasm", log: s.log,
		missing: "the wasm build is not served by this server (no wasm directory configured, or " + WasmName + " absent from it)",
	})
	mux.HandleFunc("GET /wasm_exec.js", func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.WasmExecJS == nil {
			http.Error(w, "wasm_exec.js is not served by this server (Go's lib/wasm/wasm_exec.js was not found at startup)", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "wasm_exec.js", time.Time{}, bytes.NewReader(s.cfg.WasmExecJS))
	})

	if s.cfg.Pages != nil {
		mux.Handle("GET /", http.FileServerFS(s.cfg.Pages))
	} else {
		mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "no pages are served by this server", http.StatusNotFound)
		})
	}
	return mux, nil
}

// serveHealth answers 200 while the server runs and 503 once it shuts down,
// so that a load balancer stops sending it new clients.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.shuttingDown() {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "shutting down\n")
		return
	}
	io.WriteString(w, "ok\n")
}

// precompressed serves one file of fsys that may also exist precompressed,
// as name+".br" (brotli) and name+".gz" (gzip). It picks the variant the
// request's Accept-Encoding prefers among those present, and marks it with
// Content-Encoding. The response varies by Accept-Encoding.
type precompressed struct {
	fsys        fs.FS
	name        string
	contentType string
	missing     string // the 404 text
	log         *slog.Logger
}

// variants of a precompressed file, in the server's order of preference
// when the client likes several equally.
var variants = [...]struct{ suffix, coding string }{
	{".br", "br"},
	{".gz", "gzip"},
	{"", "identity"},
}

func (p *precompressed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Accept-Encoding")
	if p.fsys == nil {
		http.Error(w, p.missing, http.StatusNotFound)
		return
	}
	accept := parseAcceptEncoding(r.Header.Get("Accept-Encoding"))
	best, bestQ, present := -1, 0.0, false
	for i, v := range variants {
		info, err := fs.Stat(p.fsys, p.name+v.suffix)
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		present = true
		if q := accept.quality(v.coding); q > bestQ {
			best, bestQ = i, q
		}
	}
	switch {
	case best < 0 && present:
		http.Error(w, "no variant of "+p.name+" matches Accept-Encoding", http.StatusNotAcceptable)
		return
	case best < 0:
		http.Error(w, p.missing, http.StatusNotFound)
		return
	}
	v := variants[best]
	f, err := p.fsys.Open(p.name + v.suffix)
	if err != nil {
		p.log.Error("open precompressed file", "name", p.name+v.suffix, "err", err)
		http.Error(w, "cannot open "+p.name, http.StatusInternalServerError)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		p.log.Error("stat precompressed file", "name", p.name+v.suffix, "err", err)
		http.Error(w, "cannot read "+p.name, http.StatusInternalServerError)
		return
	}
	content, ok := f.(io.ReadSeeker)
	if !ok {
		b, err := io.ReadAll(f)
		if err != nil {
			p.log.Error("read precompressed file", "name", p.name+v.suffix, "err", err)
			http.Error(w, "cannot read "+p.name, http.StatusInternalServerError)
			return
		}
		content = bytes.NewReader(b)
	}
	w.Header().Set("Content-Type", p.contentType)
	w.Header().Set("Cache-Control", "no-cache")
	if v.coding != "identity" {
		w.Header().Set("Content-Encoding", v.coding)
		// ServeContent leaves out Content-Length when Content-Encoding is
		// set; the length of the stored file is the right one here (range
		// requests and errors set or remove it themselves).
		w.Header().Set("Content-Length", strconv.FormatInt(info.Size(), 10))
	}
	http.ServeContent(w, r, p.name, info.ModTime(), content)
}

// acceptEncoding is a parsed Accept-Encoding header: quality by coding.
type acceptEncoding struct {
	q        map[string]float64
	wildcard float64 // quality of "*", or -1 if absent
}

// parseAcceptEncoding parses an Accept-Encoding header (RFC 9110, 12.5.3).
// Entries that do not parse are ignored.
func parseAcceptEncoding(h string) acceptEncoding {
	a := acceptEncoding{q: make(map[string]float64), wildcard: -1}
	for part := range strings.SplitSeq(h, ",") {
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding == "" {
			continue
		}
		q := 1.0
		for param := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(param), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 || f > 1 {
				q = -1
				break
			}
			q = f
		}
		if q < 0 {
			continue
		}
		if coding == "*" {
			a.wildcard = q
		} else {
			a.q[coding] = q
		}
	}
	return a
}

// quality returns how much the client accepts coding, 0 meaning not at all.
// Identity is acceptable unless refused explicitly or through "*".
func (a acceptEncoding) quality(coding string) float64 {
	if q, ok := a.q[coding]; ok {
		return q
	}
	if q, ok := a.q["x-gzip"]; ok && coding == "gzip" {
		return q
	}
	if a.wildcard >= 0 {
		return a.wildcard
	}
	if coding == "identity" {
		return 0.001 // acceptable, but any listed coding is preferred
	}
	return 0
}
