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
	// The title, the page's own script and style, and the element ids the
	// browser tests rely on.
	for _, want := range []string{
		"<title>tabraft</title>",
		`<script type="module" src="app.js"`,
		`<link rel="stylesheet" href="style.css">`,
		`id="member-id"`, `id="role"`, `id="term"`, `id="hash"`, `id="version"`,
		`id="board"`, `id="members"`, `id="error"`,
		`id="stop"`, `id="restart"`, `id="disconnect"`, `id="reconnect"`,
		`id="transfer"`, `id="leave"`, `id="recover"`, `id="recover-confirm"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	// No resource from another origin: the demo works offline.
	for _, bad := range []string{`src="http`, `href="http`, `src="//`, `href="//`} {
		if strings.Contains(page, bad) {
			t.Errorf("index.html loads a resource from another origin (%q)", bad)
		}
	}
}
