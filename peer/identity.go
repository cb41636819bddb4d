package peer

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tabraft/tabraft/raft"
)

// idFile is where a native member keeps its id, beside its log.
const idFile = "member-id"

// LoadOrCreateID returns the member id stored in dir, or stores and
// returns preferred (a random one if preferred is None): a member keeps its
// identity across restarts, so it comes back as the same voter with the
// same log. A preferred id that differs from the stored one is an error.
func LoadOrCreateID(dir string, preferred raft.NodeID) (raft.NodeID, error) {
	path := filepath.Join(dir, idFile)
	b, err := os.ReadFile(path)
	if err == nil {
		id, perr := ParseID(strings.TrimSpace(string(b)))
		if perr != nil {
			return raft.None, fmt.Errorf("peer: %s: %w", path, perr)
		}
		if preferred != raft.None && preferred != id {
			return raft.None, fmt.Errorf("peer: id %s differs from the id %s stored in %s", FormatID(preferred), FormatID(id), dir)
		}
		return id, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return raft.None, fmt.Errorf("peer: reading the member id: %w", err)
	}
	id := preferred
	if id == raft.None {
		id = RandomID()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return raft.None, fmt.Errorf("peer: creating %s: %w", dir, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(FormatID(id)+"\n"), 0o644); err != nil {
		return raft.None, fmt.Errorf("peer: storing the member id: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return raft.None, fmt.Errorf("peer: storing the member id: %w", err)
	}
	return id, nil
}

// RandomID draws a member id: 53 random bits, so that it survives a trip
// through a JavaScript number in the browser members.
func RandomID() raft.NodeID {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	return raft.NodeID(binary.LittleEndian.Uint64(b[:])&(1<<53-1) | 1)
}

// FormatID writes an id as the signaling layer names members: lower-case hex.
func FormatID(id raft.NodeID) string { return strconv.FormatUint(uint64(id), 16) }

// ParseID reads what FormatID wrote.
func ParseID(s string) (raft.NodeID, error) {
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil || v == 0 {
		return raft.None, fmt.Errorf("peer: %q is not a member id (non-zero hexadecimal)", s)
	}
	return raft.NodeID(v), nil
}
