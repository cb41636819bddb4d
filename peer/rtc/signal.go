package rtc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tabraft/tabraft/signaling"
	"github.com/tabraft/tabraft/signaling/client"
)

var errNoSignaling = errors.New("not connected to the signaling server")

// dialJoin connects to the signaling server and joins the room.
func (t *Transport) dialJoin(ctx context.Context) (*client.Client, signaling.Message, error) {
	ctx, cancel := context.WithTimeout(ctx, t.cfg.SignalTimeout)
	defer cancel()
	c, err := client.Dial(ctx, t.cfg.SignalURL, t.cfg.SignalOptions)
	if err != nil {
		return nil, signaling.Message{}, fmt.Errorf("rtc: %w", err)
	}
	w, err := c.Join(ctx, t.cfg.Room, t.self)
	if err != nil {
		c.CloseNow()
		return nil, signaling.Message{}, fmt.Errorf("rtc: %w", err)
	}
	return c, w, nil
}

// signalLoop serves the signaling connection, and when it is lost ends
// every link (the other members see this one leave, and end theirs) and
// dials again with backoff, until Close. The room of c is entered already
// (see enterRoom).
func (t *Transport) signalLoop(c *client.Client) {
	defer t.wg.Done()
	attempt := 0
	for {
		joined := time.Now()
		err := t.serveSignaling(c)
		t.removeAll()
		if t.ctx.Err() != nil {
			return
		}
		t.log.Warn("signaling connection lost", "err", err)
		if time.Since(joined) > t.cfg.BackoffMax {
			attempt = 0
		}
		for {
			d := t.backoff.delay(attempt)
			attempt++
			select {
			case <-time.After(d):
			case <-t.ctx.Done():
				return
			}
			var w signaling.Message
			if c, w, err = t.dialJoin(t.ctx); err == nil {
				t.enterRoom(c, w)
				break
			}
			t.log.Warn("signaling reconnection failed", "err", err, "attempt", attempt)
		}
		t.log.Info("signaling reconnected")
	}
}

// enterRoom takes the signaling connection c, which joined the room with
// the welcome w, and links the members the welcome lists. New does it
// before it returns, so that Members is the room's roster from the start.
func (t *Transport) enterRoom(c *client.Client, w signaling.Message) {
	t.mu.Lock()
	t.sig, t.sigUp = c, true
	t.joins++
	if t.cfg.ICEServers == nil {
		t.ice = iceServersOf(w.ICEServers)
	}
	t.mu.Unlock()
	t.log.Info("joined the room", "room", t.cfg.Room, "members", len(w.Members))
	for _, m := range w.Members {
		if id, ok := parseMemberID(m); ok {
			t.addLink(id)
		}
	}
}

// serveSignaling handles every message of c, whose room enterRoom entered,
// until the connection ends or the transport closes.
func (t *Transport) serveSignaling(c *client.Client) error {
	defer func() {
		t.mu.Lock()
		t.sig, t.sigUp = nil, false
		t.mu.Unlock()
		if t.ctx.Err() != nil {
			c.Close() // leave cleanly
		} else {
			c.CloseNow()
		}
	}()
	for {
		m, err := c.Recv(t.ctx)
		if err != nil {
			return err
		}
		t.dispatch(m)
	}
}

// dispatch routes a message from the signaling server.
func (t *Transport) dispatch(m signaling.Message) {
	switch m.Type {
	case signaling.TypeJoined:
		if id, ok := parseMemberID(m.ID); ok {
			t.addLink(id)
		}
	case signaling.TypeLeft:
		if id, ok := parseMemberID(m.ID); ok {
			t.log.Debug("member left", "peer", m.ID, "reason", m.Reason)
			t.removeLink(id)
		}
	case signaling.TypeOffer, signaling.TypeAnswer, signaling.TypeCandidate:
		id, ok := parseMemberID(m.From)
		var l *link
		if ok {
			l = t.linkOf(id)
		}
		if l == nil {
			t.log.Debug("relay from a member without a link ignored", "from", m.From, "type", m.Type)
			return
		}
		env, err := parseEnvelope(m.Type, m.Data)
		if err != nil {
			l.log.Debug("relay ignored", "err", err)
			return
		}
		if !l.box.post(event{kind: evRelay, env: env}) {
			l.log.Debug("relay dropped: mailbox full", "kind", env.Kind)
		}
	case signaling.TypeError:
		t.log.Debug("signaling server refused a message", "code", m.Code, "refused", m.Refused, "to", m.To, "text", m.Text)
	}
}

// relay sends an envelope to member to.
func (t *Transport) relay(to string, env envelope) error {
	t.mu.Lock()
	c := t.sig
	t.mu.Unlock()
	if c == nil {
		return errNoSignaling
	}
	data, err := json.Marshal(env)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(t.ctx, t.cfg.SignalTimeout)
	defer cancel()
	return c.Relay(ctx, env.relayType(), to, data)
}

// iceServersOf converts the signaling server's ICE servers.
func iceServersOf(ss []signaling.ICEServer) []ICEServer {
	out := make([]ICEServer, 0, len(ss))
	for _, s := range ss {
		is := ICEServer{URLs: s.URLs, Username: s.Username}
		if s.Credential != "" {
			is.Credential = s.Credential
		}
		out = append(out, is)
	}
	return out
}
