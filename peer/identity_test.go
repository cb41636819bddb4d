package peer

import (
	"os"
	"path/filepath"
	"testing"
)

func TestIDPersistsAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	a, err := LoadOrCreateID(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadOrCreateID(dir, 0)
	if err != nil || a != b {
		t.Fatalf("second load = %v, %v; want %v", b, err, a)
	}
	if _, err := LoadOrCreateID(dir, a+1); err == nil {
		t.Fatalf("a different preferred id was accepted over the stored one")
	}
	if got, err := LoadOrCreateID(t.TempDir(), 0x42); err != nil || got != 0x42 {
		t.Fatalf("preferred id on an empty dir = %v, %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(dir, idFile), []byte("zz\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateID(dir, 0); err == nil {
		t.Fatalf("a garbled id file was accepted")
	}
}

func TestParseID(t *testing.T) {
	for _, s := range []string{"", "0", "-1", "xyz", "1ffffffffffffffff"} {
		if _, err := ParseID(s); err == nil {
			t.Errorf("ParseID(%q) accepted", s)
		}
	}
	id := RandomID()
	if got, err := ParseID(FormatID(id)); err != nil || got != id {
		t.Fatalf("round trip %v → %v, %v", id, got, err)
	}
}
