package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tabraft/tabraft/raft"
)

// FaultKind enumerates what the nemesis can do. New kinds (snapshot
// transfers cut short, membership changes, leadership transfers) extend
// this list.
type FaultKind uint8

const (
	// FaultSplit cuts the members into sides that cannot talk to each other.
	FaultSplit FaultKind = iota
	// FaultIsolate cuts one member off from everyone.
	FaultIsolate
	// FaultOneWay cuts one member's links in one direction only: it can
	// send but not hear (Inbound) or hear but not send.
	FaultOneWay
	// FaultPartial cuts some pairs of members only, so that connectivity is
	// no longer transitive (a and b talk, b and c talk, a and c do not).
	FaultPartial
	// FaultHeal restores every link.
	FaultHeal
	// FaultCrash stops a member; what it had not persisted is lost.
	FaultCrash
	// FaultRestart starts a crashed member again from its storage.
	FaultRestart
	// FaultPause freezes a member's host (a frozen tab, a long GC pause):
	// no ticks, messages wait in its inbox.
	FaultPause
	// FaultResume thaws a paused member.
	FaultResume
	// FaultReboot crashes a member and restarts it Downtime later (a tab
	// reloaded, a process restarted by its supervisor): quick enough to
	// rejoin the very election it was voting in.
	FaultReboot
	// FaultThrottle slows a member's timer to one tick per Interval (a
	// hidden browser tab: timers fire at most once a second); an Interval
	// of 0 restores the normal tick.
	FaultThrottle
	// FaultTransfer asks the leader to hand leadership to Member (None:
	// the most up-to-date voter).
	FaultTransfer

	numFaultKinds
)

var faultKindNames = [numFaultKinds]string{
	FaultSplit: "split", FaultIsolate: "isolate", FaultOneWay: "one-way", FaultPartial: "partial",
	FaultHeal: "heal", FaultCrash: "crash", FaultRestart: "restart", FaultPause: "pause",
	FaultResume: "resume", FaultReboot: "reboot", FaultThrottle: "throttle",
	FaultTransfer: "transfer",
}

func (k FaultKind) String() string {
	if k < numFaultKinds {
		return faultKindNames[k]
	}
	return fmt.Sprintf("FaultKind(%d)", uint8(k))
}

// Fault is one action of the nemesis. A partition replaces whatever
// partition was in force before it.
type Fault struct {
	// At is when the fault happens (used in Config.Schedule only).
	At   time.Duration
	Kind FaultKind
	// Member is the member acted on (isolate, one-way, crash, restart,
	// pause, resume).
	Member raft.NodeID
	// Inbound (one-way): true cuts what Member hears, false what it sends.
	Inbound bool
	// Sides (split) are the groups; every member is in exactly one.
	Sides [][]raft.NodeID
	// Pairs (partial) are the member pairs cut in both directions.
	Pairs [][2]raft.NodeID
	// Downtime (reboot) is how long the member stays down.
	Downtime time.Duration
	// Interval (throttle) is the member's tick interval; 0 restores it.
	Interval time.Duration
}

// cutLinks returns the directed links (member indexes) a partition cuts.
func (f *Fault) cutLinks(members int) [][2]int {
	var links [][2]int
	both := func(a, b int) { links = append(links, [2]int{a, b}, [2]int{b, a}) }
	m := int(f.Member) - 1
	switch f.Kind {
	case FaultSplit:
		side := make([]int, members)
		for i, ids := range f.Sides {
			for _, id := range ids {
				side[id-1] = i
			}
		}
		for a := range members {
			for b := a + 1; b < members; b++ {
				if side[a] != side[b] {
					both(a, b)
				}
			}
		}
	case FaultIsolate:
		for o := range members {
			if o != m {
				both(m, o)
			}
		}
	case FaultOneWay:
		for o := range members {
			switch {
			case o == m:
			case f.Inbound:
				links = append(links, [2]int{o, m})
			default:
				links = append(links, [2]int{m, o})
			}
		}
	case FaultPartial:
		for _, p := range f.Pairs {
			both(int(p[0])-1, int(p[1])-1)
		}
	}
	return links
}

func (f *Fault) validate(members int) error {
	ok := func(id raft.NodeID) bool { return id >= 1 && int(id) <= members }
	switch f.Kind {
	case FaultSplit:
		seen := make([]bool, members)
		for _, ids := range f.Sides {
			for _, id := range ids {
				if !ok(id) || seen[id-1] {
					return fmt.Errorf("fault %s: member %d missing or listed twice", f.Kind, id)
				}
				seen[id-1] = true
			}
		}
		if slices.Contains(seen, false) {
			return fmt.Errorf("fault %s: every member must be on a side", f.Kind)
		}
	case FaultPartial:
		for _, p := range f.Pairs {
			if !ok(p[0]) || !ok(p[1]) || p[0] == p[1] {
				return fmt.Errorf("fault %s: bad pair %v", f.Kind, p)
			}
		}
	case FaultHeal:
	case FaultTransfer:
		if f.Member != raft.None && !ok(f.Member) {
			return fmt.Errorf("fault %s: no member %d", f.Kind, f.Member)
		}
	case FaultIsolate, FaultOneWay, FaultCrash, FaultRestart, FaultPause, FaultResume, FaultReboot, FaultThrottle:
		if !ok(f.Member) {
			return fmt.Errorf("fault %s: no member %d", f.Kind, f.Member)
		}
	default:
		return fmt.Errorf("unknown fault kind %d", f.Kind)
	}
	if f.At < 0 || f.Downtime < 0 || f.Interval < 0 {
		return fmt.Errorf("fault %s with a negative time", f.Kind)
	}
	return nil
}

// String describes the fault as the narration prints it.
func (f Fault) String() string {
	switch f.Kind {
	case FaultSplit:
		parts := make([]string, len(f.Sides))
		for i, ids := range f.Sides {
			parts[i] = idSet(ids)
		}
		return "network: partition " + strings.Join(parts, " | ")
	case FaultIsolate:
		return fmt.Sprintf("network: %s isolated", nodeName(f.Member))
	case FaultOneWay:
		if f.Inbound {
			return fmt.Sprintf("network: %s can send but hears no one (one-way)", nodeName(f.Member))
		}
		return fmt.Sprintf("network: %s hears everyone but cannot send (one-way)", nodeName(f.Member))
	case FaultPartial:
		parts := make([]string, len(f.Pairs))
		for i, p := range f.Pairs {
			parts[i] = nodeName(p[0]) + "–" + nodeName(p[1])
		}
		return "network: partial partition, links cut " + strings.Join(parts, " ")
	case FaultHeal:
		return "network: healed"
	case FaultCrash:
		return nodeName(f.Member) + " crashes"
	case FaultRestart:
		return nodeName(f.Member) + " restarts from its storage"
	case FaultPause:
		return nodeName(f.Member) + " freezes"
	case FaultResume:
		return nodeName(f.Member) + " thaws"
	case FaultReboot:
		return fmt.Sprintf("%s reboots (down for %s)", nodeName(f.Member), f.Downtime.Round(time.Millisecond))
	case FaultTransfer:
		if f.Member == raft.None {
			return "hands leadership to the most up-to-date member"
		}
		return "hands leadership to " + nodeName(f.Member)
	case FaultThrottle:
		if f.Interval == 0 {
			return nodeName(f.Member) + "'s timer runs at full speed again"
		}
		return fmt.Sprintf("%s's timer is throttled to one tick per %s (a hidden tab)", nodeName(f.Member), f.Interval)
	}
	return f.Kind.String()
}

func nodeName(id raft.NodeID) string { return fmt.Sprintf("n%d", id) }

// idSet formats ids as {n1,n2}.
func idSet(ids []raft.NodeID) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = nodeName(id)
	}
	return "{" + strings.Join(parts, ",") + "}"
}
