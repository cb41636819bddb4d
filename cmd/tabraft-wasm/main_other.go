//go:build !js

// Command tabraft-wasm is tabraft's browser member; it only runs in a
// browser. Build it with:
//
//	GOOS=js GOARCH=wasm go build -trimpath -ldflags='-s -w' -o out/web/tabraft.wasm ./cmd/tabraft-wasm
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "tabraft-wasm runs in a browser: build it with GOOS=js GOARCH=wasm and load it with web/tabraft.js")
	os.Exit(2)
}
