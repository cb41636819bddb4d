// Package signaling defines the tabraft signaling protocol: the JSON messages
// that browser tabs and native members exchange with the signaling server to
// find each other and set up WebRTC connections.
//
// The server (package signaling/server) only introduces peers: it keeps rooms
// of members, tells members who joined and left, and relays WebRTC offers,
// answers and ICE candidates between two members of the same room. It never
// sees Raft traffic, and this package knows nothing of Raft.
//
// This package holds only the protocol (message types, the version, id and
// room name syntax, encoding and decoding) and imports the standard library
// only, so that every side of the protocol can use it, including GOOS=js
// builds. A Go client over WebSocket lives in package signaling/client.
//
// The protocol is described in PROTOCOL.md beside this file.
package signaling
