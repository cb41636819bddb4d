// Package web holds the pages the signaling server serves, embedded into
// the binary. The collaborative demo and the live cluster view will live
// here; for now there is a placeholder page that shows the configuration
// the server hands to pages (/config.json).
package web

import (
	"embed"
	"io/fs"
)

// files are the static pages. Add new files to the pattern.
//
//go:embed index.html
var files embed.FS

// FS returns the pages, rooted at the site root.
func FS() fs.FS { return files }
