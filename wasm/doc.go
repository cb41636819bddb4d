// Package wasm is tabraft's browser member: it turns a tab into a Raft
// member of a room and exposes it to JavaScript as the API described by
// web/tabraft.d.ts (join, propose, read, status, events…).
//
// The package has two layers. The portable one (files without a build
// constraint) is the member itself: a peer.Node applying the shared board
// (peer/board), started on a storage that outlives it (stop and restart
// reuse it), behind a transport wrapper that counts messages and can cut
// the member off (disconnect), with events (role, term, membership,
// applied, restored, error) observed from the node's Ready batches and
// delivered by a goroutine of their own. It runs natively too, which is how
// its tests run. The JavaScript layer (files built with GOOS=js) turns that
// member into Promises and callbacks through hack-pad/safejs: every method
// that waits returns a Promise whose executor starts a goroutine, callbacks
// are delivered with queueMicrotask so that they never run inside Go's
// stack, the tab's member id lives in sessionStorage (one per tab and room),
// a Web Lock keeps a duplicated tab from running the same member twice, logs
// go to the browser console and pagehide makes the member leave.
package wasm
