package signaling

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Version is the protocol version this package speaks. Every message carries
// it in its "v" field; a peer receiving another version refuses the message.
const Version = 1

// Limits of the name syntax, in bytes.
const (
	// MaxIDLen is the longest member id accepted.
	MaxIDLen = 64
	// MaxRoomLen is the longest room name accepted.
	MaxRoomLen = 64
)

// Type is the kind of a message: the value of its "type" field.
type Type string

// Messages a client sends to the server.
const (
	// TypeJoin asks to join Room as member ID. The answer is TypeWelcome or
	// TypeError.
	TypeJoin Type = "join"
	// TypeLeave leaves the room. The connection stays open and may join
	// again.
	TypeLeave Type = "leave"
	// TypePing asks the server for a TypePong. Browsers cannot send
	// WebSocket pings, so this is how a page checks the server is alive.
	TypePing Type = "ping"
)

// Messages relayed by the server from one member to another member of the
// same room. The sender sets To; the server sets From. Data is opaque to the
// server: any JSON value (a session description, an ICE candidate, or null).
const (
	TypeOffer     Type = "offer"
	TypeAnswer    Type = "answer"
	TypeCandidate Type = "candidate"
)

// Messages the server sends to a client.
const (
	// TypeWelcome accepts a join: Room, ID, the other Members already in the
	// room and the ICEServers to use.
	TypeWelcome Type = "welcome"
	// TypeJoined tells that member ID joined the room.
	TypeJoined Type = "joined"
	// TypeLeft tells that member ID left the room, and why (Reason).
	TypeLeft Type = "left"
	// TypeError refuses a message: Code says why, Text says it to a human.
	TypeError Type = "error"
	// TypePong answers a TypePing.
	TypePong Type = "pong"
)

// IsRelay reports whether t is one of the types relayed between members.
func (t Type) IsRelay() bool {
	return t == TypeOffer || t == TypeAnswer || t == TypeCandidate
}

// LeftReason says why a member left, in a TypeLeft message.
type LeftReason string

// Reasons a member leaves.
const (
	// LeftLeave: the member sent TypeLeave.
	LeftLeave LeftReason = "leave"
	// LeftClosed: the member's connection closed or broke.
	LeftClosed LeftReason = "closed"
	// LeftTimeout: the member stopped answering keep-alive pings.
	LeftTimeout LeftReason = "timeout"
	// LeftEvicted: the server closed the member's connection for breaking a
	// limit or for not reading its messages fast enough.
	LeftEvicted LeftReason = "evicted"
	// LeftShutdown: the server is shutting down.
	LeftShutdown LeftReason = "shutdown"
)

// ErrorCode is the machine-readable reason of a TypeError message.
type ErrorCode string

// Error codes.
const (
	// CodeBadMessage: not a JSON object of this protocol, a field of the
	// wrong JSON type, a missing field, or a binary WebSocket message.
	CodeBadMessage ErrorCode = "bad_message"
	// CodeBadVersion: "v" missing or not Version. The connection is closed.
	CodeBadVersion ErrorCode = "bad_version"
	// CodeBadType: an unknown type, or a type only the server sends.
	CodeBadType ErrorCode = "bad_type"
	// CodeBadID: a member id that breaks the id syntax.
	CodeBadID ErrorCode = "bad_id"
	// CodeBadRoom: a room name that breaks the room name syntax.
	CodeBadRoom ErrorCode = "bad_room"
	// CodeBadTarget: a relayed message addressed to its own sender.
	CodeBadTarget ErrorCode = "bad_target"
	// CodeNotJoined: a message that needs a room, sent before joining.
	CodeNotJoined ErrorCode = "not_joined"
	// CodeAlreadyJoined: a join on a connection that is already in a room.
	CodeAlreadyJoined ErrorCode = "already_joined"
	// CodeDuplicateID: the room already has a member with that id.
	CodeDuplicateID ErrorCode = "duplicate_id"
	// CodeRoomFull: the room has as many members as the server allows.
	CodeRoomFull ErrorCode = "room_full"
	// CodeTooManyRooms: the server has as many rooms as it allows.
	CodeTooManyRooms ErrorCode = "too_many_rooms"
	// CodeUnknownMember: the addressee is not a member of the sender's room.
	CodeUnknownMember ErrorCode = "unknown_member"
	// CodeTooBig: the message is longer than the server allows. The
	// connection is closed.
	CodeTooBig ErrorCode = "too_big"
	// CodeRateLimited: the connection sends faster than the server allows;
	// the message was dropped.
	CodeRateLimited ErrorCode = "rate_limited"
	// CodeTooManyErrors: the connection keeps sending refused messages. The
	// connection is closed.
	CodeTooManyErrors ErrorCode = "too_many_errors"
)

// ICEServer is one STUN or TURN server, in the shape of the browser's
// RTCIceServer dictionary.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Message is every message of the protocol, in either direction. Which fields
// are used depends on Type; the others are left empty and are not encoded.
type Message struct {
	// V is the protocol version. Encode fills in Version when it is zero.
	V    int  `json:"v"`
	Type Type `json:"type"`

	// Room is the room name (join, welcome).
	Room string `json:"room,omitempty"`
	// ID is a member id: one's own (join, welcome) or another's (joined,
	// left).
	ID string `json:"id,omitempty"`
	// From is the sender of a relayed message, set by the server.
	From string `json:"from,omitempty"`
	// To is the addressee of a relayed message, set by the sender (and kept
	// by the server). In an error refusing a relayed message, the addressee
	// of the refused message.
	To string `json:"to,omitempty"`
	// Data is the payload of a relayed message, opaque to the server.
	Data json.RawMessage `json:"data,omitempty"`

	// Members lists the other members of the room, sorted (welcome).
	Members []string `json:"members,omitzero"`
	// ICEServers are the STUN/TURN servers the server hands out (welcome).
	ICEServers []ICEServer `json:"iceServers,omitzero"`
	// Reason says why a member left (left).
	Reason LeftReason `json:"reason,omitempty"`

	// Code and Text explain a refusal (error).
	Code ErrorCode `json:"code,omitempty"`
	Text string    `json:"message,omitempty"`
	// Refused is the type of the refused message, when known (error).
	Refused Type `json:"refused,omitempty"`
}

// Error is a protocol violation, as found by Decode, DecodeRequest and the
// name validators, and as carried by a TypeError message.
type Error struct {
	Code ErrorCode
	Text string
}

// Error returns the code and the text.
func (e *Error) Error() string { return string(e.Code) + ": " + e.Text }

// errorf makes an *Error.
func errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Text: fmt.Sprintf(format, args...)}
}

// Encode returns the JSON encoding of m, with V set to Version if it is zero.
// Data is compacted; '<', '>' and '&' are not escaped.
func Encode(m Message) ([]byte, error) {
	if m.V == 0 {
		m.V = Version
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encode %s message: %w", m.Type, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Decode parses one message and checks its version. It does not check that
// the type is known or that the fields the type needs are present: receivers
// ignore what they do not understand. The error, if any, is an *Error.
func Decode(b []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return Message{}, errorf(CodeBadMessage, "not a message of the signaling protocol: %v", err)
	}
	switch {
	case m.V == 0:
		return Message{}, errorf(CodeBadVersion, `protocol version "v" missing; this side speaks version %d`, Version)
	case m.V != Version:
		return Message{}, errorf(CodeBadVersion, "protocol version %d not supported; this side speaks version %d", m.V, Version)
	}
	return m, nil
}

// DecodeRequest parses a message sent by a client to the server and checks
// it fully: version, type, and the fields its type needs. The error, if any,
// is an *Error. When the message parses but fails CheckRequest, the parsed
// message is returned with the error, so that the refusal can name its type.
func DecodeRequest(b []byte) (Message, error) {
	m, err := Decode(b)
	if err != nil {
		return Message{}, err
	}
	return m, CheckRequest(m)
}

// CheckRequest checks that m is a message a client may send, with the fields
// its type needs. The error, if any, is an *Error.
func CheckRequest(m Message) error {
	switch m.Type {
	case TypeJoin:
		if err := ValidateRoom(m.Room); err != nil {
			return err
		}
		return ValidateID(m.ID)
	case TypeLeave, TypePing:
		return nil
	case TypeOffer, TypeAnswer, TypeCandidate:
		if err := ValidateID(m.To); err != nil {
			return err
		}
		if len(m.Data) == 0 {
			return errorf(CodeBadMessage, `%s message without "data"`, m.Type)
		}
		return nil
	case TypeWelcome, TypeJoined, TypeLeft, TypeError, TypePong:
		return errorf(CodeBadType, "message type %q is sent by the server only", m.Type)
	case "":
		return errorf(CodeBadType, `message "type" missing`)
	default:
		return errorf(CodeBadType, "unknown message type %s", quote(string(m.Type)))
	}
}

// ValidateID checks the member id syntax: 1 to MaxIDLen characters among
// ASCII letters, digits, '-', '_' and '.'. The error, if any, is an *Error
// with CodeBadID.
func ValidateID(id string) error {
	if why := checkName(id, MaxIDLen); why != "" {
		return errorf(CodeBadID, "member id %s %s", quote(id), why)
	}
	return nil
}

// ValidateRoom checks the room name syntax, the same as the id syntax with
// MaxRoomLen. The error, if any, is an *Error with CodeBadRoom.
func ValidateRoom(room string) error {
	if why := checkName(room, MaxRoomLen); why != "" {
		return errorf(CodeBadRoom, "room name %s %s", quote(room), why)
	}
	return nil
}

// checkName returns why s breaks the name syntax, or "" if it does not.
func checkName(s string, maxLen int) string {
	if s == "" {
		return "is empty"
	}
	if len(s) > maxLen {
		return fmt.Sprintf("is longer than %d bytes", maxLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return "may hold only ASCII letters, digits, '-', '_' and '.'"
		}
	}
	return ""
}

// quote quotes s for an error text, cut short so that a hostile client cannot
// make the server echo a long string.
func quote(s string) string {
	const maxQuoted = 80
	if len(s) > maxQuoted {
		cut := maxQuoted
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return fmt.Sprintf("%q…", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}
