package server

import (
	"fmt"
	"slices"
	"sync"

	"github.com/tabraft/tabraft/signaling"
)

// hub holds the rooms. A room exists from its first member's join to its
// last member's departure.
//
// Locking: hub.mu guards the rooms map and the member count and is taken
// (before room.mu) by joins and departures, which change membership.
// Relays take only their room's room.mu, for reading, so rooms do not
// contend with each other on the hot path. Announcements and relays are
// queued while these locks are held, which gives every member of a room
// the same order of joins and departures, and delivers a member's relays
// before the announcement of its departure.
type hub struct {
	mu      sync.Mutex
	rooms   map[string]*room
	members int
}

// room is one room: its members by id.
type room struct {
	name    string
	mu      sync.RWMutex
	members map[string]*conn
}

// counts returns the number of rooms and of members.
func (h *hub) counts() (rooms, members int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.rooms), h.members
}

// join adds c to the room named in m as member m.ID, queues the welcome to
// c and the announcement to the others, and returns the room. It returns
// the refusal instead if the join breaks a rule.
func (s *Server) join(c *conn, m signaling.Message) (*room, *signaling.Error) {
	h := &s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rooms[m.Room]
	if r == nil {
		if len(h.rooms) >= s.cfg.MaxRooms {
			return nil, &signaling.Error{
				Code: signaling.CodeTooManyRooms,
				Text: fmt.Sprintf("the server has %d rooms, its most; join an existing room or try later", s.cfg.MaxRooms),
			}
		}
		r = &room{name: m.Room, members: make(map[string]*conn)}
		h.rooms[m.Room] = r
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.members[m.ID]; dup {
		return nil, &signaling.Error{
			Code: signaling.CodeDuplicateID,
			Text: fmt.Sprintf("room %q already has a member %q; pick another id", m.Room, m.ID),
		}
	}
	if len(r.members) >= s.cfg.MaxMembersPerRoom {
		return nil, &signaling.Error{
			Code: signaling.CodeRoomFull,
			Text: fmt.Sprintf("room %q has %d members, its most", m.Room, s.cfg.MaxMembersPerRoom),
		}
	}
	others := make([]string, 0, len(r.members))
	for id := range r.members {
		others = append(others, id)
	}
	slices.Sort(others)
	c.sendMsg(signaling.Message{
		Type: signaling.TypeWelcome, Room: m.Room, ID: m.ID,
		Members: others, ICEServers: s.cfg.ICEServers,
	})
	if len(r.members) > 0 {
		joined, err := signaling.Encode(signaling.Message{Type: signaling.TypeJoined, ID: m.ID})
		if err != nil {
			s.log.Error("encode joined announcement", "err", err)
		} else {
			for _, o := range r.members {
				o.enqueue(joined)
			}
		}
	}
	r.members[m.ID] = c
	h.members++
	return r, nil
}

// leave removes member id from r, announces its departure with reason to
// the others, and removes the room if it is now empty.
func (s *Server) leave(r *room, id string, reason signaling.LeftReason) {
	h := &s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.members[id]; !ok {
		return
	}
	delete(r.members, id)
	h.members--
	s.metrics.left.WithLabelValues(string(reason)).Inc()
	if len(r.members) == 0 {
		delete(h.rooms, r.name)
		return
	}
	left, err := signaling.Encode(signaling.Message{Type: signaling.TypeLeft, ID: id, Reason: reason})
	if err != nil {
		s.log.Error("encode left announcement", "err", err)
		return
	}
	for _, o := range r.members {
		o.enqueue(left)
	}
}

// relay queues b, already encoded, to member to of r. It reports false if r
// has no such member.
func (r *room) relay(to string, b []byte) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t := r.members[to]
	if t == nil {
		return false
	}
	t.enqueue(b)
	return true
}
