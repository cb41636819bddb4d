// Package wasm is tabraft's browser member: it turns a tab into a Raft
// member of a room and exposes it to JavaScript as the API described by
// web/tabraft.d.ts (join, propose, read, status, events…). cmd/tabraft-wasm
// is its main; web/tabraft.js loads it.
//
// # Layers
//
// The portable layer (files without a build constraint) is the member
// itself, Member: a peer.Node applying the shared board (peer/board), on a
// storage that outlives the node (stop and restart reuse it), behind a
// transport wrapper that counts messages, notes when each member was last
// heard from and can cut the member off (disconnect). It runs natively too,
// which is how most of its tests run (over peer.MemNetwork); they also run
// compiled for the browser (scripts/jstest.sh ./wasm).
//
// The JavaScript layer (files built with GOOS=js) turns a Member into the
// API through hack-pad/safejs: every method that waits returns a Promise
// whose executor only starts a goroutine; errors reject with an Error whose
// message starts with "tabraft: " (see Message); values cross as JSON
// (JSON.parse of what Go marshalled: numbers are float64, indexes stay
// below 2^53). Event callbacks run from queueMicrotask, never inside Go's
// stack, so a callback that throws is the page's problem only.
//
// # Events
//
// The node hands the state machine commands without their index, so the
// storage is wrapped too: it sees every Ready before the node applies it,
// which gives the role, term and membership events and the index and term
// of each applied entry. Entries that are not board operations (a new
// leader's empty entry, configuration changes) get applied events with a
// null op. The events are queued without blocking the node and delivered in
// order by a goroutine of the member's; those nobody subscribed to are not
// built.
//
// # Board digest
//
// status().hash and the applied events' hash are a digest of the board kept
// up to date at each operation (the sum of the cells' digests, and the
// version), not board.Hash, which sorts every key at each call: equal boards
// have equal digests on every browser member.
//
// # Identity and storage
//
// The member id is join's id option, else this tab's id for the room from
// sessionStorage (which survives a reload of the tab, and only of that
// tab), else a new random one. A Web Lock per room and id keeps a
// duplicated tab (which copies sessionStorage) from running the same member
// twice: it draws its own id. With persist (the default) the log lives in
// IndexedDB (wasm/idbstore, one database per room and id); without, in
// memory, and then the id is never reused: a member must not come back
// under an id whose log it lost.
//
// # Membership
//
// Membership is peer's autopilot (peer.Config.Autopilot, with join's
// targetVoters and deadTimeoutMs): a new member whose storage is empty
// founds a cluster of one when nobody else is in the room
// (peer.FoundingVoters, asked once the room's welcome is handled), else
// waits to be added; the leader adds the members present, promotes caught-up
// learners to an odd number of voters and removes silent ones. leave() is
// peer.Node.Leave. On pagehide a member that leads hands leadership over
// (Member.HandOver) but does not leave: a reloaded tab returns under the same
// id within the dead timeout and keeps its place, and the autopilot removes
// a closed one once it has been silent that long. recoverAlone() stops the member, rewrites its storage into a
// cluster of itself (peer.RecoverAlone) and starts it again.
package wasm
