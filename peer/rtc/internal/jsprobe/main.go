//go:build js

// Command jsprobe runs rtc transports in a browser tab for the browser
// test of package rtc (browser_test.go): it joins the members named in the
// page's query to the room, exchanges numbered messages with every other
// member, checks that each sender's arrive whole and in order, and posts
// the outcome to /result.
//
// Query: signal (WebSocket URL), room, ids (this tab's members, comma
// separated, hexadecimal), peers (every member of the room), n (messages
// per pair), big (bytes of the entry of every 100th message).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall/js"
	"time"

	"github.com/tabraft/tabraft/peer/rtc"
	"github.com/tabraft/tabraft/raft"
)

// result is what the probe reports.
type result struct {
	OK     bool            `json:"ok"`
	Errors []string        `json:"errors,omitempty"`
	Stats  []rtc.PeerStats `json:"stats,omitempty"`
	Millis int64           `json:"millis"`
}

func main() {
	began := time.Now()
	res := run()
	res.Millis = time.Since(began).Milliseconds()
	res.OK = len(res.Errors) == 0
	b, _ := json.Marshal(res)
	js.Global().Call("fetch", "/result", map[string]any{"method": "POST", "body": string(b)})
	select {} // keep the transports (and the page) alive until the browser is closed
}

func parseIDs(s string) ([]raft.NodeID, error) {
	var ids []raft.NodeID
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseUint(f, 16, 64)
		if err != nil {
			return nil, fmt.Errorf("id %q: %w", f, err)
		}
		ids = append(ids, raft.NodeID(v))
	}
	return ids, nil
}

func run() (res result) {
	fail := func(format string, args ...any) { res.Errors = append(res.Errors, fmt.Sprintf(format, args...)) }
	q, err := url.ParseQuery(strings.TrimPrefix(js.Global().Get("location").Get("search").String(), "?"))
	if err != nil {
		fail("query: %v", err)
		return
	}
	ids, err := parseIDs(q.Get("ids"))
	if err != nil {
		fail("ids: %v", err)
		return
	}
	peers, err := parseIDs(q.Get("peers"))
	if err != nil {
		fail("peers: %v", err)
		return
	}
	n, _ := strconv.Atoi(q.Get("n"))
	big, _ := strconv.Atoi(q.Get("big"))
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var ts []*rtc.Transport
	for _, id := range ids {
		t, err := rtc.New(ctx, rtc.Config{ID: id, SignalURL: q.Get("signal"), Room: q.Get("room"), Logger: log.With("tab", id)})
		if err != nil {
			fail("New(%d): %v", id, err)
			return
		}
		ts = append(ts, t)
	}
	defer func() {
		for _, t := range ts {
			res.Stats = append(res.Stats, t.Stats().Peers...)
		}
	}()

	// Wait for a full mesh.
	for _, t := range ts {
		for len(t.Connected()) < len(peers)-1 {
			select {
			case <-ctx.Done():
				fail("member %d: connected to %v of %v", t.ID(), t.Connected(), peers)
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}

	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, t := range ts {
		wg.Go(func() {
			next := map[raft.NodeID]uint64{}
			for range n * (len(peers) - 1) {
				select {
				case m := <-t.Inbox():
					err := check(m, next[m.From]+1, big)
					next[m.From] = m.Index
					if err != nil {
						mu.Lock()
						fail("member %d: %v", t.ID(), err)
						mu.Unlock()
						return
					}
				case <-ctx.Done():
					mu.Lock()
					fail("member %d: received only %v", t.ID(), next)
					mu.Unlock()
					return
				}
			}
		})
		wg.Go(func() {
			for i := 1; i <= n; i++ {
				for _, p := range peers {
					if p != t.ID() {
						t.Send(message(t.ID(), p, uint64(i), big))
					}
				}
				if i%50 == 0 {
					time.Sleep(time.Millisecond) // let the tab breathe
				}
			}
		})
	}
	wg.Wait()
	return res
}

// message is the i-th message from→to: every 100th carries an entry of big
// random bytes seeded by from and i.
func message(from, to raft.NodeID, i uint64, big int) raft.Message {
	m := raft.Message{Type: raft.MsgApp, From: from, To: to, Term: 1, Index: i}
	if i%100 == 0 && big > 0 {
		rng := rand.New(rand.NewPCG(uint64(from), i)) // incompressible
		data := make([]byte, big)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		m.Entries = []raft.Entry{{Term: 1, Index: i, Data: data}}
	}
	return m
}

// check verifies m is the message want from its sender.
func check(m raft.Message, want uint64, big int) error {
	if m.Index != want {
		return fmt.Errorf("from %d: message %d, want %d", m.From, m.Index, want)
	}
	exp := message(m.From, m.To, want, big)
	if len(exp.Entries) != len(m.Entries) {
		return fmt.Errorf("from %d: message %d has %d entries, want %d", m.From, want, len(m.Entries), len(exp.Entries))
	}
	if len(exp.Entries) == 1 && string(exp.Entries[0].Data) != string(m.Entries[0].Data) {
		return fmt.Errorf("from %d: message %d: entry data differs", m.From, want)
	}
	return nil
}
