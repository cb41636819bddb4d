package sim

import (
	"strconv"
	"time"
)

// client is one simulated user of the cluster: it runs one operation at a
// time, submits it to a member, and retries elsewhere (same command, same
// sequence number) when the member refuses, crashes or is too slow.
type client struct {
	idx int
	// at is the member the current attempt went to.
	at  int
	seq uint64
	// token identifies the current attempt; events for older ones are stale.
	token uint64
	busy  bool
	cmd   Command
	data  []byte
	// op is the operation's handle in the history.
	op       int
	giveUpAt time.Duration
}

// Why a client wakes up.
const (
	wakeStart   uint8 = iota // think time is over: start the next operation
	wakeRetry                // retry after a refusal
	wakeTimeout              // the attempt went unanswered for too long
)

// clientWake handles a client's timer.
func (s *Simulation) clientWake(c *client, why uint8, token uint64) {
	if token != c.token {
		return
	}
	switch why {
	case wakeStart:
		s.clientStart(c)
	case wakeRetry:
		s.clientAttempt(c)
	case wakeTimeout:
		s.stats.Timeouts++
		if !s.healed && s.now >= c.giveUpAt {
			s.hist.abandon(c.op)
			s.stats.OpsUnknown++
			s.nar.say(s.now, "client %d gives up on %s after %s: outcome unknown", c.idx, c.cmd, s.cfg.GiveUp)
			s.clientNext(c)
			return
		}
		c.at = s.otherMember(c.at)
		s.clientAttempt(c)
	}
}

// clientStart begins the client's next operation (none once faults heal:
// the heal phase only finishes what is pending).
func (s *Simulation) clientStart(c *client) {
	if s.healed {
		return
	}
	c.seq++
	c.cmd = Command{Client: c.idx, Seq: c.seq, Key: string(rune('x' + s.rng.IntN(s.cfg.Keys)))}
	if s.cfg.Keys > 3 {
		c.cmd.Key = "k" + strconv.Itoa(s.rng.IntN(s.cfg.Keys))
	}
	tag := strconv.Itoa(c.idx) + "." + strconv.FormatUint(c.seq, 10)
	switch r := s.rng.IntN(10); {
	case r < 3:
		c.cmd.Op = OpGet
		if s.cfg.ReadIndex && s.rng.IntN(2) == 0 {
			c.cmd.Op = OpRead
		}
	case r < 5:
		c.cmd.Op, c.cmd.Value = OpPut, tag
	default:
		c.cmd.Op, c.cmd.Value = OpAppend, "["+tag+"]"
	}
	c.data = c.cmd.Encode()
	c.op = s.hist.call(c.idx, c.seq, newInput(c.cmd.Op, c.cmd.Key, c.cmd.Value), s.now)
	c.giveUpAt = s.now + s.cfg.GiveUp
	c.busy = true
	s.demand = true
	s.stats.Ops++
	s.clientAttempt(c)
}

// clientAttempt submits the current command to member c.at.
func (s *Simulation) clientAttempt(c *client) {
	c.token++
	s.schedule(event{at: s.now + s.cfg.AttemptTimeout, kind: evClient, sub: wakeTimeout, who: c.idx, epoch: c.token})
	m := s.members[c.at]
	if !m.up {
		s.clientRefused(c) // connection refused
		return
	}
	if s.bugs.localReads && (c.cmd.Op == OpGet || c.cmd.Op == OpRead) {
		s.hist.answer(c.op, m.kv.data[c.cmd.Key], s.now)
		s.stats.OpsOK++
		s.clientNext(c)
		return
	}
	if c.cmd.Op == OpRead {
		m.inbox = append(m.inbox, input{kind: inRead, client: c.idx, token: c.token, data: readContext(c.idx, c.seq, c.token)})
	} else {
		m.inbox = append(m.inbox, input{kind: inPropose, client: c.idx, token: c.token, data: c.data})
	}
	s.pump(m)
}

// proposed is the member's answer to Propose (or ReadIndex) for a
// client's attempt.
func (s *Simulation) proposed(client int, token uint64, _ int, err error) {
	c := s.clients[client]
	if !c.busy || token != c.token {
		return
	}
	switch {
	case err != nil:
		s.clientRefused(c)
	case s.bugs.ackOnPropose && (c.cmd.Op == OpPut || c.cmd.Op == OpAppend):
		s.ledger.acknowledged(c.cmd)
		s.hist.answer(c.op, "", s.now)
		s.stats.OpsOK++
		s.clientNext(c)
	}
}

// clientRefused makes the client try another member after a short backoff.
func (s *Simulation) clientRefused(c *client) {
	s.stats.Retries++
	c.token++
	c.at = s.otherMember(c.at)
	s.schedule(event{at: s.now + 5*time.Millisecond + durN(s.rng, 30*time.Millisecond), kind: evClient, sub: wakeRetry, who: c.idx, epoch: c.token})
}

// applied is a member answering operation seq of cmd's client (applying
// its command, or serving its read): if the client is waiting on that
// member for that operation, this is its answer.
func (s *Simulation) applied(cmd Command, result string, member int, seq uint64) {
	if cmd.Client < 0 || cmd.Client >= len(s.clients) {
		return
	}
	c := s.clients[cmd.Client]
	if !c.busy || seq != c.seq || c.at != member {
		return
	}
	if cmd.Op != OpGet && cmd.Op != OpRead {
		result = ""
	}
	s.ledger.acknowledged(cmd)
	s.hist.answer(c.op, result, s.now)
	s.stats.OpsOK++
	s.clientNext(c)
}

// clientsLost fails the attempts waiting on a member that crashed.
func (s *Simulation) clientsLost(member int) {
	for _, c := range s.clients {
		if c.busy && c.at == member {
			s.clientRefused(c)
		}
	}
}

// clientNext ends the current operation and schedules the next one.
func (s *Simulation) clientNext(c *client) {
	c.busy = false
	c.token++
	s.schedule(event{at: s.now + 1 + durN(s.rng, s.cfg.ThinkTime+1), kind: evClient, sub: wakeStart, who: c.idx, epoch: c.token})
}

// clientsBusy reports whether any client has an operation outstanding.
func (s *Simulation) clientsBusy() bool {
	for _, c := range s.clients {
		if c.busy {
			return true
		}
	}
	return false
}

// otherMember picks a member other than cur at random (with churn, one
// that is running: a user reaches the cluster through a tab that is open).
func (s *Simulation) otherMember(cur int) int {
	if s.churn != nil {
		var up []int
		for _, m := range s.members {
			if m.up && m.idx != cur {
				up = append(up, m.idx)
			}
		}
		if len(up) > 0 {
			return up[s.rng.IntN(len(up))]
		}
		return cur
	}
	n := len(s.members)
	if n == 1 {
		return 0
	}
	return (cur + 1 + s.rng.IntN(n-1)) % n
}
