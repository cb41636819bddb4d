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
// tabraft.js is the loader of the browser member (the wasm the server
// serves from -wasm-dir); tabraft.d.ts its API, for the pages' type checks.
//
//go:embed index.html app.js style.css tabraft.js tabraft.d.ts
var files embed.FS

// FS returns the pages, rooted at the site root.
func FS() fs.FS { return files }
