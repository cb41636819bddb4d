//go:build !js

package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tabraft/tabraft/signaling"
	"github.com/tabraft/tabraft/signaling/client"
)

func TestJoinWelcomesAndAnnounces(t *testing.T) {
	ice := []signaling.ICEServer{{URLs: []string{"stun:stun.test:3478"}}}
	ts := startServer(t, Config{ICEServers: ice})

	a, wa := ts.joined(t, "r1", "a")
	if wa.Room != "r1" || wa.ID != "a" || len(wa.Members) != 0 {
		t.Fatalf("first welcome = %+v, want room r1, id a, no members", wa)
	}
	if len(wa.ICEServers) != 1 || wa.ICEServers[0].URLs[0] != "stun:stun.test:3478" {
		t.Fatalf("welcome ICE servers = %+v, want %+v", wa.ICEServers, ice)
	}
	b, wb := ts.joined(t, "r1", "b")
	if !slices.Equal(wb.Members, []string{"a"}) {
		t.Fatalf("second welcome members = %v, want [a]", wb.Members)
	}
	if m := expect(t, a, signaling.TypeJoined); m.ID != "b" {
		t.Fatalf("joined announces %q, want b", m.ID)
	}
	_, wc := ts.joined(t, "r1", "c")
	if !slices.Equal(wc.Members, []string{"a", "b"}) {
		t.Fatalf("third welcome members = %v, want [a b] (sorted)", wc.Members)
	}
	for _, c := range []*client.Client{a, b} {
		if m := expect(t, c, signaling.TypeJoined); m.ID != "c" {
			t.Fatalf("joined announces %q, want c", m.ID)
		}
	}
	if got := ts.Stats(); got.Rooms != 1 || got.Members != 3 {
		t.Fatalf("stats = %+v, want 1 room, 3 members", got)
	}
}

func TestRelayOfferAnswerCandidate(t *testing.T) {
	ts := startServer(t, Config{})
	a, _ := ts.joined(t, "r", "a")
	b, _ := ts.joined(t, "r", "b")
	expect(t, a, signaling.TypeJoined)

	ctx := context.Background()
	offer := json.RawMessage(`{"type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}`)
	if err := a.Relay(ctx, signaling.TypeOffer, "b", offer); err != nil {
		t.Fatal(err)
	}
	m := expect(t, b, signaling.TypeOffer)
	if m.From != "a" || m.To != "b" {
		t.Fatalf("offer from %q to %q, want from a to b", m.From, m.To)
	}
	var got, want any
	if err := json.Unmarshal(m.Data, &got); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(offer, &want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("offer data = %s, want %s", m.Data, offer)
	}

	if err := b.Relay(ctx, signaling.TypeAnswer, "a", json.RawMessage(`{"type":"answer","sdp":"v=0"}`)); err != nil {
		t.Fatal(err)
	}
	if m := expect(t, a, signaling.TypeAnswer); m.From != "b" {
		t.Fatalf("answer from %q, want b", m.From)
	}
	for _, cand := range []string{`{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0"}`, `null`} {
		if err := a.Relay(ctx, signaling.TypeCandidate, "b", json.RawMessage(cand)); err != nil {
			t.Fatal(err)
		}
		if m := expect(t, b, signaling.TypeCandidate); string(m.Data) != cand {
			t.Fatalf("candidate data = %s, want %s", m.Data, cand)
		}
	}

	// The sender cannot pretend to be someone else: the server sets "from".
	sendRaw(t, a, `{"v":1,"type":"candidate","to":"b","from":"mallory","data":{}}`)
	if m := expect(t, b, signaling.TypeCandidate); m.From != "a" {
		t.Fatalf("spoofed from %q reached the addressee", m.From)
	}
	if got := ts.metric(t, `tabraft_signal_messages_relayed_total{type="candidate"}`); !strings.HasSuffix(got, " 3") {
		t.Fatalf("relayed candidates metric = %q, want 3", got)
	}
}

func TestAppLevelPing(t *testing.T) {
	ts := startServer(t, Config{})
	c := ts.dial(t)
	pingPong(t, c) // works before joining too
	join(t, c, "r", "a")
	pingPong(t, c)
}

func TestLeaveAnnouncesAndAllowsRejoin(t *testing.T) {
	ts := startServer(t, Config{})
	a, _ := ts.joined(t, "r", "a")
	b, _ := ts.joined(t, "r", "b")
	expect(t, a, signaling.TypeJoined)

	if err := b.Leave(context.Background()); err != nil {
		t.Fatal(err)
	}
	expectLeft(t, a, "b", signaling.LeftLeave)
	// A member that left is no longer addressable, and cannot send.
	send(t, a, signaling.Message{Type: signaling.TypeOffer, To: "b", Data: json.RawMessage(`{}`)})
	if m := expectError(t, a, signaling.CodeUnknownMember); m.To != "b" || m.Refused != signaling.TypeOffer {
		t.Fatalf("refusal names to=%q refused=%q, want b, offer", m.To, m.Refused)
	}
	send(t, b, signaling.Message{Type: signaling.TypeOffer, To: "a", Data: json.RawMessage(`{}`)})
	expectError(t, b, signaling.CodeNotJoined)
	send(t, b, signaling.Message{Type: signaling.TypeLeave})
	expectError(t, b, signaling.CodeNotJoined)

	// The same connection joins another room, then comes back.
	if w := join(t, b, "elsewhere", "b"); len(w.Members) != 0 || w.ICEServers == nil {
		t.Fatalf("welcome to an empty room: %+v, want no members and an empty iceServers list", w)
	}
	eventually(t, "two rooms", func() bool { return ts.Stats().Rooms == 2 })
	b.Leave(context.Background())
	eventually(t, "the empty room to vanish", func() bool { return ts.Stats().Rooms == 1 })
	if w := join(t, b, "r", "b"); !slices.Equal(w.Members, []string{"a"}) {
		t.Fatalf("rejoin welcome members = %v, want [a]", w.Members)
	}
	if m := expect(t, a, signaling.TypeJoined); m.ID != "b" {
		t.Fatalf("joined %q, want b", m.ID)
	}
}

func TestClosedConnectionAnnouncedAsLeft(t *testing.T) {
	for _, tc := range []struct {
		name  string
		close func(*client.Client)
	}{
		{"close handshake", func(c *client.Client) { c.Close() }},
		{"dropped TCP connection", (*client.Client).CloseNow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, Config{})
			a, _ := ts.joined(t, "r", "a")
			b, _ := ts.joined(t, "r", "b")
			expect(t, a, signaling.TypeJoined)
			tc.close(b)
			expectLeft(t, a, "b", signaling.LeftClosed)
			eventually(t, "b's connection to be forgotten", func() bool { return ts.Stats() == Stats{Rooms: 1, Members: 1, Conns: 1} })
		})
	}
}

func TestRoomsAppearAndVanish(t *testing.T) {
	ts := startServer(t, Config{})
	if got := ts.Stats(); got != (Stats{}) {
		t.Fatalf("new server stats = %+v", got)
	}
	a, _ := ts.joined(t, "r1", "a")
	b, _ := ts.joined(t, "r2", "b")
	c, _ := ts.joined(t, "r2", "c")
	if got := ts.Stats(); got != (Stats{Rooms: 2, Members: 3, Conns: 3}) {
		t.Fatalf("stats = %+v, want 2 rooms, 3 members, 3 connections", got)
	}
	if got := ts.metric(t, "tabraft_signal_rooms"); got != "tabraft_signal_rooms 2" {
		t.Fatalf("rooms metric line %q", got)
	}
	a.Close()
	eventually(t, "r1 to vanish", func() bool { return ts.Stats().Rooms == 1 })
	b.Close()
	eventually(t, "one member left", func() bool { return ts.Stats().Members == 1 })
	if got := ts.Stats().Rooms; got != 1 {
		t.Fatalf("r2 vanished with a member in it (%d rooms)", got)
	}
	c.Close()
	eventually(t, "no room, no member, no connection", func() bool { return ts.Stats() == Stats{} })
	if got := ts.metric(t, "tabraft_signal_members"); got != "tabraft_signal_members 0" {
		t.Fatalf("members metric line %q", got)
	}
}

func TestDeadConnectionDetected(t *testing.T) {
	// The timeout leaves the live member time to answer even on a loaded
	// machine under the race detector.
	cfg := Config{PingInterval: 30 * time.Millisecond, PingTimeout: time.Second}
	for _, tc := range []struct {
		name string
		opts *websocket.DialOptions
		read bool
	}{
		// A frozen tab: the TCP connection is up but nothing reads it.
		{"never reads", nil, false},
		// Reads, but its pongs never come back.
		{"no pongs", &websocket.DialOptions{OnPingReceived: func(context.Context, []byte) bool { return false }}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, cfg)
			a, _ := ts.joined(t, "r", "a")
			dead := ts.dialRaw(t, tc.opts)
			ctx := context.Background()
			if err := dead.Write(ctx, websocket.MessageText, []byte(`{"v":1,"type":"join","room":"r","id":"dead"}`)); err != nil {
				t.Fatal(err)
			}
			if tc.read {
				go func() {
					for {
						if _, _, err := dead.Read(ctx); err != nil {
							return
						}
					}
				}()
			}
			if m := expect(t, a, signaling.TypeJoined); m.ID != "dead" {
				t.Fatalf("joined %q, want dead", m.ID)
			}
			start := time.Now()
			expectLeft(t, a, "dead", signaling.LeftTimeout)
			t.Logf("dead connection announced after %v", time.Since(start))
			// The live member, pinged all along, is still there.
			pingPong(t, a)
			if got := ts.Stats(); got.Members != 1 {
				t.Fatalf("stats after the dead member left: %+v", got)
			}
			if got := ts.metric(t, `tabraft_signal_connections_closed_by_server_total{reason="timeout"}`); !strings.HasSuffix(got, " 1") {
				t.Fatalf("timeout metric line %q", got)
			}
		})
	}
}

func TestDuplicateIDRefused(t *testing.T) {
	ts := startServer(t, Config{})
	a, _ := ts.joined(t, "r", "a")
	a2 := ts.dial(t)
	_, err := a2.Join(context.Background(), "r", "a")
	var perr *signaling.Error
	if !errors.As(err, &perr) || perr.Code != signaling.CodeDuplicateID {
		t.Fatalf("second join as a: %v, want duplicate_id", err)
	}
	// The refused connection is still usable, and the same id is fine in
	// another room.
	join(t, a2, "other", "a")
	pingPong(t, a)
	if got := ts.Stats(); got.Rooms != 2 || got.Members != 2 {
		t.Fatalf("stats = %+v", got)
	}
}

func TestRoomFull(t *testing.T) {
	ts := startServer(t, Config{MaxMembersPerRoom: 2})
	ts.joined(t, "r", "a")
	ts.joined(t, "r", "b")
	c := ts.dial(t)
	_, err := c.Join(context.Background(), "r", "c")
	var perr *signaling.Error
	if !errors.As(err, &perr) || perr.Code != signaling.CodeRoomFull {
		t.Fatalf("third join: %v, want room_full", err)
	}
	join(t, c, "r2", "c")
	if got := ts.metric(t, `tabraft_signal_rejected_total{reason="room_full"}`); !strings.HasSuffix(got, " 1") {
		t.Fatalf("room_full metric line %q", got)
	}
}

func TestTooManyRooms(t *testing.T) {
	ts := startServer(t, Config{MaxRooms: 2})
	a, _ := ts.joined(t, "r1", "a")
	ts.joined(t, "r2", "b")
	c := ts.dial(t)
	_, err := c.Join(context.Background(), "r3", "c")
	var perr *signaling.Error
	if !errors.As(err, &perr) || perr.Code != signaling.CodeTooManyRooms {
		t.Fatalf("join of a third room: %v, want too_many_rooms", err)
	}
	join(t, c, "r1", "c") // existing rooms still take members
	expect(t, a, signaling.TypeJoined)
	a.Close()
	c.Close()
	eventually(t, "r1 to vanish", func() bool { return ts.Stats().Rooms == 1 })
	ts.joined(t, "r3", "d") // a room freed is a room available
}

func TestMessageTooBig(t *testing.T) {
	ts := startServer(t, Config{MaxMessageBytes: 1024})
	a, _ := ts.joined(t, "r", "a")
	b, _ := ts.joined(t, "r", "b")
	expect(t, a, signaling.TypeJoined)

	// Exactly at the limit is fine.
	pad := func(n int) json.RawMessage {
		head := `{"v":1,"type":"candidate","to":"a","data":"`
		return json.RawMessage(head + strings.Repeat("x", n-len(head)-2) + `"}`)
	}
	sendRaw(t, b, string(pad(1024)))
	expect(t, a, signaling.TypeCandidate)

	sendRaw(t, b, string(pad(1025)))
	expectError(t, b, signaling.CodeTooBig)
	expectClosed(t, b, websocket.StatusMessageTooBig)
	expectLeft(t, a, "b", signaling.LeftEvicted)

	// Far over the limit, in many frames, from a raw client.
	ws := ts.dialRaw(t, nil)
	big := strings.Repeat("y", 1<<20)
	ctx := context.Background()
	ws.Write(ctx, websocket.MessageText, []byte(big))
	_, _, err := ws.Read(ctx)
	if err != nil {
		t.Fatalf("no error message before close: %v", err)
	}
	if _, _, err := ws.Read(ctx); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("huge message: connection ended with %v, want status 1009", err)
	}

	// The server and the room carry on.
	pingPong(t, a)
	ts.joined(t, "r", "b")
	expect(t, a, signaling.TypeJoined)
}

func TestRateLimit(t *testing.T) {
	// Tokens come back so slowly that the test sees the burst alone.
	ts := startServer(t, Config{MessageRate: 0.001, MessageBurst: 3})
	c := ts.dial(t)
	for range 3 {
		send(t, c, signaling.Message{Type: signaling.TypePing})
	}
	send(t, c, signaling.Message{Type: signaling.TypePing})
	for range 3 {
		expect(t, c, signaling.TypePong)
	}
	expectError(t, c, signaling.CodeRateLimited)
	if got := ts.metric(t, `tabraft_signal_rejected_total{reason="rate_limited"}`); !strings.HasSuffix(got, " 1") {
		t.Fatalf("rate_limited metric line %q", got)
	}
}

func TestFloodOfRefusedMessagesCloses(t *testing.T) {
	ts := startServer(t, Config{MessageRate: 0.001, MessageBurst: 2, RejectRate: 0.001, RejectBurst: 5})
	a, _ := ts.joined(t, "r", "a")
	flood, _ := ts.joined(t, "r", "flood")
	expect(t, a, signaling.TypeJoined)
	for range 50 {
		if err := flood.SendRaw(context.Background(), []byte(`{"v":1,"type":"ping"}`)); err != nil {
			break // closed by the server, as it should
		}
	}
	var codes []signaling.ErrorCode
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for {
		m, err := flood.Recv(ctx)
		if err != nil {
			if client.CloseStatus(err) != websocket.StatusPolicyViolation {
				t.Fatalf("flood ended with %v, want status 1008", err)
			}
			break
		}
		if m.Type == signaling.TypeError {
			codes = append(codes, m.Code)
		}
	}
	want := []signaling.ErrorCode{"rate_limited", "rate_limited", "rate_limited", "rate_limited", "rate_limited", "too_many_errors"}
	if !slices.Equal(codes, want) {
		t.Fatalf("errors = %v, want %v", codes, want)
	}
	expectLeft(t, a, "flood", signaling.LeftEvicted)
	pingPong(t, a)
}

func TestNameSyntax(t *testing.T) {
	ts := startServer(t, Config{})
	c := ts.dial(t)
	for _, tc := range []struct {
		room, id string
		code     signaling.ErrorCode
	}{
		{"", "a", signaling.CodeBadRoom},
		{"a room", "a", signaling.CodeBadRoom},
		{"../etc", "a", signaling.CodeBadRoom},
		{strings.Repeat("r", signaling.MaxRoomLen+1), "a", signaling.CodeBadRoom},
		{"r", "", signaling.CodeBadID},
		{"r", "<script>", signaling.CodeBadID},
		{"r", "ä", signaling.CodeBadID},
		{"r", strings.Repeat("i", signaling.MaxIDLen+1), signaling.CodeBadID},
	} {
		_, err := c.Join(context.Background(), tc.room, tc.id)
		var perr *signaling.Error
		if !errors.As(err, &perr) || perr.Code != tc.code {
			t.Errorf("join %q as %q: %v, want %s", tc.room, tc.id, err, tc.code)
		}
	}
	join(t, c, strings.Repeat("r", signaling.MaxRoomLen), strings.Repeat("i", signaling.MaxIDLen))
	send(t, c, signaling.Message{Type: signaling.TypeOffer, To: "bad id", Data: json.RawMessage(`{}`)})
	expectError(t, c, signaling.CodeBadID)
	if got := ts.Stats(); got.Rooms != 1 {
		t.Fatalf("refused joins made rooms: %+v", got)
	}
}

func TestProtocolMisuse(t *testing.T) {
	ts := startServer(t, Config{})
	a, _ := ts.joined(t, "r", "a")
	c := ts.dial(t)

	for _, tc := range []struct {
		in   string
		code signaling.ErrorCode
	}{
		{`not json`, signaling.CodeBadMessage},
		{`{"v":1,"type":"join","room":7}`, signaling.CodeBadMessage},
		{`{"v":1,"type":"dance"}`, signaling.CodeBadType},
		{`{"v":1,"type":"welcome"}`, signaling.CodeBadType},
		{`{"v":1,"type":"offer","to":"a"}`, signaling.CodeBadMessage},
		{`{"v":1,"type":"offer","to":"a","data":{}}`, signaling.CodeNotJoined},
		{`{"v":1,"type":"leave"}`, signaling.CodeNotJoined},
	} {
		sendRaw(t, c, tc.in)
		expectError(t, c, tc.code)
	}
	raw := ts.dialRaw(t, nil)
	ctx := context.Background()
	if err := raw.Write(ctx, websocket.MessageBinary, []byte(`{"v":1,"type":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	_, b, err := raw.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := signaling.Decode(b); err != nil || m.Code != signaling.CodeBadMessage {
		t.Fatalf("answer to a binary message: %s (%v), want a bad_message error", b, err)
	}

	join(t, c, "r", "c")
	expect(t, a, signaling.TypeJoined)
	send(t, c, signaling.Message{Type: signaling.TypeJoin, Room: "r2", ID: "c"})
	expectError(t, c, signaling.CodeAlreadyJoined)
	send(t, c, signaling.Message{Type: signaling.TypeCandidate, To: "c", Data: json.RawMessage(`{}`)})
	expectError(t, c, signaling.CodeBadTarget)
	pingPong(t, c) // all of that left the connection open

	// Another protocol version is the end of the conversation.
	sendRaw(t, c, `{"v":2,"type":"ping"}`)
	expectError(t, c, signaling.CodeBadVersion)
	expectClosed(t, c, websocket.StatusProtocolError)
	expectLeft(t, a, "c", signaling.LeftEvicted)
	pingPong(t, a)
}

func TestCrossRoomIsolation(t *testing.T) {
	ts := startServer(t, Config{})
	// Two rooms with the same member ids.
	a1, _ := ts.joined(t, "one", "a")
	b1, _ := ts.joined(t, "one", "b")
	expect(t, a1, signaling.TypeJoined)
	a2, _ := ts.joined(t, "two", "a")
	b2, _ := ts.joined(t, "two", "b")
	c2, _ := ts.joined(t, "two", "c")
	expect(t, a2, signaling.TypeJoined)
	expect(t, a2, signaling.TypeJoined)
	expect(t, b2, signaling.TypeJoined)

	ctx := context.Background()
	for _, typ := range []signaling.Type{signaling.TypeOffer, signaling.TypeAnswer, signaling.TypeCandidate} {
		if err := a1.Relay(ctx, typ, "b", json.RawMessage(`"for room one"`)); err != nil {
			t.Fatal(err)
		}
		if m := expect(t, b1, typ); string(m.Data) != `"for room one"` {
			t.Fatalf("b in room one got %s", m.Data)
		}
	}
	// c exists only in room two: room one cannot reach it.
	a1.Relay(ctx, signaling.TypeOffer, "c", json.RawMessage(`"sneaky"`))
	expectError(t, a1, signaling.CodeUnknownMember)
	// Leaving room one is not announced in room two.
	b1.Close()
	expectLeft(t, a1, "b", signaling.LeftClosed)

	// Room two saw nothing of it: the next message each member of room two
	// gets is one sent now, within room two.
	for _, to := range []string{"b", "c"} {
		a2.Relay(ctx, signaling.TypeCandidate, to, json.RawMessage(`"marker"`))
	}
	for _, c := range []*client.Client{b2, c2} {
		if m := expect(t, c, signaling.TypeCandidate); m.From != "a" || string(m.Data) != `"marker"` {
			t.Fatalf("room two member got %+v before the marker", m)
		}
	}
	b2.Relay(ctx, signaling.TypeCandidate, "a", json.RawMessage(`"marker"`))
	if m := expect(t, a2, signaling.TypeCandidate); string(m.Data) != `"marker"` {
		t.Fatalf("a in room two got %+v before the marker", m)
	}
}

func TestOriginCheck(t *testing.T) {
	ts := startServer(t, Config{AllowedOrigins: []string{"*.friends.test", "https://exact.test:8443"}})
	host := strings.TrimPrefix(ts.http.URL, "http://")
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"", true}, // not a browser
		{"http://" + host, true},
		{"https://app.friends.test", true},
		{"http://app.friends.test", true},
		{"https://exact.test:8443", true},
		{"http://exact.test:8443", false},
		{"https://exact.test", false},
		{"https://evil.test", false},
		{"https://friends.test.evil.test", false},
		{"null", false},
		{"http://127.0.0.2:1", false},
	} {
		opts := &client.Options{HTTPHeader: http.Header{}}
		if tc.origin != "" {
			opts.HTTPHeader.Set("Origin", tc.origin)
		}
		c, err := client.Dial(context.Background(), ts.wsURL, opts)
		if tc.ok {
			if err != nil {
				t.Errorf("origin %q refused: %v", tc.origin, err)
				continue
			}
			c.Close()
			continue
		}
		var herr *client.HandshakeError
		if !errors.As(err, &herr) || herr.StatusCode != http.StatusForbidden {
			t.Errorf("origin %q: %v, want a 403 refusal", tc.origin, err)
		}
		if c != nil {
			c.Close()
		}
	}
	if got := ts.metric(t, `tabraft_signal_rejected_total{reason="origin"}`); !strings.HasSuffix(got, " 6") {
		t.Fatalf("origin metric line %q, want 6", got)
	}
}

func TestDefaultOriginIsSameOrigin(t *testing.T) {
	ts := startServer(t, Config{})
	host := strings.TrimPrefix(ts.http.URL, "http://")
	ok := ts.dialWith(t, &client.Options{HTTPHeader: http.Header{"Origin": {"http://" + host}}})
	pingPong(t, ok)
	_, err := client.Dial(context.Background(), ts.wsURL, &client.Options{HTTPHeader: http.Header{"Origin": {"http://localhost:1"}}})
	var herr *client.HandshakeError
	if !errors.As(err, &herr) || herr.StatusCode != http.StatusForbidden {
		t.Fatalf("cross origin: %v, want 403", err)
	}
}

func TestMaxConns(t *testing.T) {
	ts := startServer(t, Config{MaxConns: 2})
	a := ts.dial(t)
	ts.dial(t)
	_, err := client.Dial(context.Background(), ts.wsURL, nil)
	var herr *client.HandshakeError
	if !errors.As(err, &herr) || herr.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third connection: %v, want 503", err)
	}
	a.Close()
	eventually(t, "a slot to free", func() bool { return ts.Stats().Conns == 1 })
	pingPong(t, ts.dial(t))
}

func TestSlowConsumerEvicted(t *testing.T) {
	ts := startServer(t, Config{
		SendQueueBytes: 256 << 10, WriteTimeout: time.Second,
		MessageRate: 1e6, MessageBurst: 1e6, RejectBurst: 1e6,
		// Only the send queue and the write timeout are under test: pings
		// would also find the slow member, and under a loaded machine
		// could time out the sender, whose pongs wait behind its own
		// large messages.
		PingInterval: time.Hour,
	})
	sender, _ := ts.joined(t, "r", "sender")
	watcher, _ := ts.joined(t, "r", "watcher")
	expect(t, sender, signaling.TypeJoined)
	slow := ts.dialRaw(t, nil) // never reads
	ctx := context.Background()
	if err := slow.Write(ctx, websocket.MessageText, []byte(`{"v":1,"type":"join","room":"r","id":"slow"}`)); err != nil {
		t.Fatal(err)
	}
	expect(t, sender, signaling.TypeJoined)
	expect(t, watcher, signaling.TypeJoined)

	// Send the slow member far more than socket buffers hold, until the
	// server gives up on it.
	data := json.RawMessage(`"` + strings.Repeat("c", 60<<10) + `"`)
	gone := false
	for i := 0; i < 2000 && !gone; i++ {
		if err := sender.Relay(ctx, signaling.TypeCandidate, "slow", data); err != nil {
			t.Fatal(err)
		}
		gone = ts.Stats().Members == 2
	}
	if !gone {
		eventually(t, "the slow member to be evicted", func() bool { return ts.Stats().Members == 2 })
	}
	expectLeft(t, watcher, "slow", signaling.LeftEvicted)
	// The others carry on.
	sender.Relay(ctx, signaling.TypeOffer, "watcher", json.RawMessage(`{}`))
	expect(t, watcher, signaling.TypeOffer)
	if got := ts.metric(t, `tabraft_signal_connections_closed_by_server_total{reason="slow_consumer"}`); !strings.HasSuffix(got, " 1") {
		t.Fatalf("slow consumer metric line %q", got)
	}
}

func TestShutdownClosesConnections(t *testing.T) {
	ts := startServer(t, Config{})
	s := ts.Server
	a, _ := ts.joined(t, "r", "a")
	b, _ := ts.joined(t, "r", "b")
	idle := ts.dial(t)
	expect(t, a, signaling.TypeJoined)

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for _, c := range []*client.Client{a, b, idle} {
		expectClosed(t, c, websocket.StatusGoingAway)
	}
	if got := s.Stats(); got != (Stats{}) {
		t.Fatalf("stats after shutdown: %+v", got)
	}
	resp, body := ts.get(t, "/healthz", nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("healthz during shutdown: %d %q", resp.StatusCode, body)
	}
	_, err := client.Dial(context.Background(), ts.wsURL, nil)
	var herr *client.HandshakeError
	if !errors.As(err, &herr) || herr.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial during shutdown: %v, want 503", err)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	ts := startServer(t, Config{})
	resp, body := ts.get(t, "/healthz", nil)
	if resp.StatusCode != http.StatusOK || body != "ok\n" {
		t.Fatalf("healthz: %d %q", resp.StatusCode, body)
	}
	a, _ := ts.joined(t, "r", "a")
	ts.joined(t, "r", "b")
	expect(t, a, signaling.TypeJoined)
	a.Relay(context.Background(), signaling.TypeOffer, "b", json.RawMessage(`{}`))
	a.Relay(context.Background(), signaling.TypeOffer, "nobody", json.RawMessage(`{}`))
	expectError(t, a, signaling.CodeUnknownMember)

	resp, body = ts.get(t, "/metrics", nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		"tabraft_signal_rooms 1",
		"tabraft_signal_members 2",
		"tabraft_signal_connections 2",
		`tabraft_signal_messages_relayed_total{type="offer"} 1`,
		`tabraft_signal_rejected_total{reason="unknown_member"} 1`,
		`tabraft_signal_rejected_total{reason="rate_limited"} 0`,
		"tabraft_signal_messages_received_total 4",
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
