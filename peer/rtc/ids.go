package rtc

import (
	"strconv"

	"github.com/tabraft/tabraft/raft"
)

// memberID is the signaling member id of a raft node: its id in lower-case
// hexadecimal without leading zeros ("1", "a", "ff00"). Every member of a
// room must use this mapping.
func memberID(id raft.NodeID) string { return strconv.FormatUint(uint64(id), 16) }

// parseMemberID is the inverse of memberID. It accepts only the canonical
// form, so that two spellings ("a" and "0a") never name one node, and never
// returns raft.None. Room members whose id does not parse (a page that only
// watches the room, say) are not raft members and are ignored.
func parseMemberID(s string) (raft.NodeID, bool) {
	if s == "" || len(s) > 16 {
		return raft.None, false
	}
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil || v == 0 || strconv.FormatUint(v, 16) != s {
		return raft.None, false
	}
	return raft.NodeID(v), true
}
