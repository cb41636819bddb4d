package web

import (
	"io/fs"
	"strings"
	"testing"
)

func TestIndexPage(t *testing.T) {
	b, err := fs.ReadFile(FS(), "index.html")
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{"<title>tabraft</title>", `fetch("config.json"`, "iceServers"} {
		if !strings.Contains(page, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
}
