package rtc

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tabraft/tabraft/signaling"
)

// The data of every relayed signaling message is an envelope: a JSON object
// of this package's own shape (the server treats it as opaque).
//
//	offer      {"kind":"offer","session":7,"sdp":"v=0…"}
//	answer     {"kind":"answer","session":7,"sdp":"v=0…"}
//	candidate  {"kind":"candidate","session":7,"candidates":[{"candidate":"candidate:…","sdpMid":"0",…}]}
//	hello      {"kind":"hello","session":6}
//
// Session numbers one attempt of the offerer, so that answers and candidates
// of an abandoned attempt are recognized and ignored. A hello asks the
// offerer of the pair for a new offer: it names the last session the
// answering side saw (0: none), and travels as an "offer" relay since the
// protocol has no type of its own for it. Candidates are batched: those
// gathered together travel in one relay, sparing the server's rate limit.
type envelope struct {
	Kind       string          `json:"kind"`
	Session    uint64          `json:"session"`
	SDP        string          `json:"sdp,omitempty"`
	Candidates []candidateInit `json:"candidates,omitempty"`
}

// Envelope kinds.
const (
	kindOffer     = "offer"
	kindAnswer    = "answer"
	kindCandidate = "candidate"
	kindHello     = "hello"
)

// maxCandidates bounds the candidates of one relay and those buffered for
// one connection.
const maxCandidates = 64

// relayType is the signaling message type an envelope travels as.
func (e envelope) relayType() signaling.Type {
	switch e.Kind {
	case kindAnswer:
		return signaling.TypeAnswer
	case kindCandidate:
		return signaling.TypeCandidate
	default: // offer, hello
		return signaling.TypeOffer
	}
}

var errBadEnvelope = errors.New("bad signaling envelope")

// parseEnvelope decodes and checks the data of a relay of type typ.
func parseEnvelope(typ signaling.Type, data json.RawMessage) (envelope, error) {
	var e envelope
	if err := json.Unmarshal(data, &e); err != nil {
		return envelope{}, fmt.Errorf("%w: %w", errBadEnvelope, err)
	}
	ok := false
	switch e.Kind {
	case kindOffer, kindAnswer:
		ok = e.SDP != "" && e.Session != 0
	case kindCandidate:
		ok = e.Session != 0 && len(e.Candidates) > 0 && len(e.Candidates) <= maxCandidates
	case kindHello:
		ok = true
	}
	if !ok || e.relayType() != typ {
		return envelope{}, fmt.Errorf("%w: %s relay with kind %q, session %d, %d candidates",
			errBadEnvelope, typ, e.Kind, e.Session, len(e.Candidates))
	}
	return e, nil
}
