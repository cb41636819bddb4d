// Package peer runs a live tabraft member: the driver loop around the pure
// core (real ticks, Ready handled in the order the persistence rule
// demands, committed entries applied to the user's StateMachine), futures
// for writes and linearizable reads, and the seams it plugs into — Storage
// and Transport. Sub-packages hold the pieces: wire (the codec), rtc (the
// WebRTC transport), filelog (crash-safe storage for native members).
package peer
