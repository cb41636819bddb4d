// Package rtc is tabraft's WebRTC transport (peer.Transport): one peer
// connection and one data channel per pair of members, negotiated through
// the signaling server. It runs natively on pion/webrtc and, compiled with
// GOOS=js, in a browser tab on the browser's own RTCPeerConnection and
// RTCDataChannel (through safejs, without pion).
//
//	t, err := rtc.New(ctx, rtc.Config{ID: 1, SignalURL: "wss://host/ws", Room: "demo"})
//	t.Send(m)                  // never blocks
//	m := <-t.Inbox()           // in order per sender
//	id := <-t.Unreachable()    // drops and lost connections
//	ev := <-t.Peers()          // members joining and leaving the room
//
// # Members and the room
//
// A member's signaling id is its raft id in lower-case hexadecimal without
// leading zeros; room members whose id is not of that form are ignored. A
// link exists for every other member in the room: it is created by the
// welcome's member list or a joined announcement and ended by a left
// announcement, which closes the connection and reports the member
// unreachable. If this member's own signaling connection is lost, every link
// ends (the others see it leave) and the transport dials again with
// backoff; a signaling outage thus also stops the connections (see Weak
// points).
//
// # Negotiation and glare
//
// Of each pair, the member with the lower raft id offers and the other
// answers. Offers never cross, so there is no glare to resolve. Every offer
// starts a session, numbered by the offerer; answers and candidates carry
// the number, and those of an abandoned session are ignored. The answering
// side takes any offer, replacing its current connection. It asks for an
// offer with a hello (a relay of kind hello, naming the last session it
// saw) when none came within HelloDelay of its joining, right after an open
// connection is lost, and then with backoff while it has no connection. The offering side honors a hello
// when it has no session under way or the hello names its current session.
// ICE is trickled: candidates are relayed as they are gathered (those
// gathered together in one relay, after the description they belong to)
// and remote candidates received before the remote description wait for
// it. See envelope.go for the relayed data.
//
// # Ordering
//
// The data channel is ordered and reliable. Natively it is detached (pion's
// SettingEngine.DetachDataChannels) and read by one goroutine. Under GOOS=js
// the transport sets binaryType to "arraybuffer" (a Blob, Firefox's
// default, would be read asynchronously) and its onmessage handler copies
// each message out of JavaScript without blocking and queues it in event
// order for the one reading goroutine (a bounded queue: MaxReceiveBytes).
// That goroutine feeds the connection's
// wire.Decoder and delivers to the Inbox. Across connections: queued
// messages of a lost connection are dropped, never sent on the next one,
// and the reader of a new connection starts only after the previous one has
// returned, so a message of an old connection never follows one of a new.
// Received messages whose From is not the peer (impersonation) or whose To
// is not this member are dropped and counted.
//
// # Backpressure
//
// Send encodes the message at once (the caller keeps its memory) and queues
// its fragments on the peer's send queue, bounded by MaxQueueBytes; when the
// queue is full, or the peer has no open connection, the message is dropped
// and the peer reported on Unreachable: the core's flow control, not memory,
// absorbs a slow peer. One writer goroutine per connection drains the queue
// into the data channel and pauses while its BufferedAmount is above
// HighWater, resuming on OnBufferedAmountLow (LowWater). Natively a
// receiver that does not read its Inbox stops reading the channel, SCTP
// flow control stops the sender, its BufferedAmount rises, its writer
// pauses and its queue fills: memory stays bounded at both ends.
// Unreachable reports are coalesced per member.
//
// # Failures and reconnection
//
// A connection fails when the peer connection reports failed,
// disconnected or closed, when the data channel closes or a read or write
// fails, when it is not open within ConnectTimeout, or when the peer sends
// more than MaxDecodeErrors undecodable fragments. The member is reported
// unreachable, the connection torn down, and the next attempt made after an
// exponential backoff with jitter (BackoffBase to BackoffMax, reset by an
// open connection), as long as the member is in the room.
//
// # Measured
//
// Two native transports on loopback, on a shared and busy 2-core AMD EPYC
// (BenchmarkThroughput, BenchmarkRoundTrip): about 90,000 to 240,000 small
// MsgApp messages per second (100-byte entries), 20 to 65 MB/s of
// incompressible 16 KiB to 64 KiB entries, and 65 to 75 µs for a heartbeat
// and its response. pion's SCTP sets the ceiling; the figures vary with the
// machine's load. In headless Chromium (TestBrowser, TABRAFT_BROWSER_TEST=1)
// two members of one tab and a native member exchange 1,000 messages per
// pair, ten of them with 100 KiB entries, in 1.8 to 3.5 s.
//
// # Platforms
//
// The transport uses a small interface of peer connection and data channel
// (conn.go), after the W3C API: pion implements it natively
// (conn_native.go), the browser under GOOS=js (conn_js.go), so the browser
// build links no pion, Go TLS, DTLS, ICE or SCTP. Native-only pion settings
// live in platform_native.go: detached data channels, IPv4 UDP only with
// 4 MiB socket buffers (the 208 KiB default overflowed under SCTP bursts),
// mDNS off, ICE timers, pion's logs to slog, and with Config.Loopback
// loopback candidates only. Under GOOS=js the browser makes those choices.
// Config.ICEServers holds pion's ICEServer natively and the signaling
// protocol's (same fields) under GOOS=js. Candidates travel as
// RTCIceCandidateInit JSON, which is pion's ICECandidateInit's too.
//
// # Weak points
//
// A signaling outage ends every connection (members see each other leave),
// and no new connection is made until the server is back. Native members
// have mDNS off, so they do not resolve a browser's obfuscated .local host
// candidates and rely on peer-reflexive or STUN candidates to reach tabs.
// Natively only IPv4 is gathered.
package rtc
