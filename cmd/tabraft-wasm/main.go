//go:build js

// Command tabraft-wasm is tabraft's browser member: built with GOOS=js
// GOARCH=wasm, it sets globalThis.tabraft to the JavaScript API of
// web/tabraft.d.ts (see package wasm) and keeps running for the page's
// lifetime. web/tabraft.js loads it.
//
//	GOOS=js GOARCH=wasm go build -trimpath -ldflags='-s -w' -o out/web/tabraft.wasm ./cmd/tabraft-wasm
package main

import (
	"github.com/tabraft/tabraft/wasm"
)

func main() {
	if err := wasm.Expose(); err != nil {
		println("tabraft:", err.Error())
		return
	}
	select {} // the API's callbacks keep the program busy from now on
}
