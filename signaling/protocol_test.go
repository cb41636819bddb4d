package signaling

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestEncodeSetsVersionAndOmitsEmptyFields(t *testing.T) {
	b, err := Encode(Message{Type: TypeJoin, Room: "r1", ID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"v":1,"type":"join","room":"r1","id":"a"}`
	if string(b) != want {
		t.Fatalf("Encode = %s, want %s", b, want)
	}
}

func TestEncodeWelcomeKeepsEmptyMemberList(t *testing.T) {
	b, err := Encode(Message{Type: TypeWelcome, Room: "r", ID: "a", Members: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"members":[]`)) {
		t.Fatalf("welcome without members list: %s", b)
	}
}

func TestDecodeRequestAccepts(t *testing.T) {
	for _, in := range []string{
		`{"v":1,"type":"join","room":"room-1","id":"member_1.x"}`,
		`{"v":1,"type":"leave"}`,
		`{"v":1,"type":"ping"}`,
		`{"v":1,"type":"offer","to":"b","data":{"type":"offer","sdp":"v=0"}}`,
		`{"v":1,"type":"answer","to":"b","data":"x"}`,
		`{"v":1,"type":"candidate","to":"b","data":null}`,
		`{"v":1,"type":"ping","future":"field"}`,
	} {
		if _, err := DecodeRequest([]byte(in)); err != nil {
			t.Errorf("DecodeRequest(%s): %v", in, err)
		}
	}
}

func TestDecodeRequestRefuses(t *testing.T) {
	long := strings.Repeat("a", MaxIDLen+1)
	for _, tc := range []struct {
		in   string
		code ErrorCode
	}{
		{``, CodeBadMessage},
		{`nope`, CodeBadMessage},
		{`[1,2]`, CodeBadMessage},
		{`{"v":1,"type":"ping"} trailing`, CodeBadMessage},
		{`{"v":1,"type":7}`, CodeBadMessage},
		{`{"v":"1","type":"ping"}`, CodeBadMessage},
		{`{"v":1.5,"type":"ping"}`, CodeBadMessage},
		{`null`, CodeBadVersion},
		{`{}`, CodeBadVersion},
		{`{"type":"ping"}`, CodeBadVersion},
		{`{"v":2,"type":"ping"}`, CodeBadVersion},
		{`{"v":1}`, CodeBadType},
		{`{"v":1,"type":"dance"}`, CodeBadType},
		{`{"v":1,"type":"welcome"}`, CodeBadType},
		{`{"v":1,"type":"error"}`, CodeBadType},
		{`{"v":1,"type":"join","id":"a"}`, CodeBadRoom},
		{`{"v":1,"type":"join","room":"a b","id":"a"}`, CodeBadRoom},
		{`{"v":1,"type":"join","room":"r"}`, CodeBadID},
		{`{"v":1,"type":"join","room":"r","id":"` + long + `"}`, CodeBadID},
		{`{"v":1,"type":"join","room":"r","id":"é"}`, CodeBadID},
		{`{"v":1,"type":"offer","data":{}}`, CodeBadID},
		{`{"v":1,"type":"offer","to":"b"}`, CodeBadMessage},
		{`{"v":1,"type":"offer","to":"b","data":{]}`, CodeBadMessage},
	} {
		_, err := DecodeRequest([]byte(tc.in))
		var perr *Error
		if !errors.As(err, &perr) {
			t.Errorf("DecodeRequest(%s) = %v, want an *Error", tc.in, err)
			continue
		}
		if perr.Code != tc.code {
			t.Errorf("DecodeRequest(%s) code = %s (%s), want %s", tc.in, perr.Code, perr.Text, tc.code)
		}
	}
}

func TestValidateNames(t *testing.T) {
	good := []string{"a", "A-b_c.9", strings.Repeat("x", 64)}
	bad := []string{"", " ", "a/b", "a b", "ü", "a\x00", strings.Repeat("x", 65)}
	for _, s := range good {
		if err := ValidateID(s); err != nil {
			t.Errorf("ValidateID(%q): %v", s, err)
		}
		if err := ValidateRoom(s); err != nil {
			t.Errorf("ValidateRoom(%q): %v", s, err)
		}
	}
	for _, s := range bad {
		if err := ValidateID(s); err == nil {
			t.Errorf("ValidateID(%q) accepted", s)
		}
		if err := ValidateRoom(s); err == nil {
			t.Errorf("ValidateRoom(%q) accepted", s)
		}
	}
}

func TestErrorTextDoesNotEchoLongInput(t *testing.T) {
	err := ValidateID(strings.Repeat("x", 10000))
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("error text too long (%d bytes): %v", len(err.Error()), err)
	}
}

func TestRoundTrip(t *testing.T) {
	in := Message{
		Type: TypeWelcome, Room: "r", ID: "a", Members: []string{"b", "c"},
		ICEServers: []ICEServer{{URLs: []string{"turn:t.example:3478"}, Username: "u", Credential: "p"}},
	}
	b, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := Encode(out)
	if !bytes.Equal(b, b2) {
		t.Fatalf("round trip changed the message:\n%s\n%s", b, b2)
	}
}

// FuzzDecodeRequest feeds arbitrary bytes to the server's decoder. It must
// never panic; it must refuse with an *Error of a known code or accept a
// message that CheckRequest accepts; and an accepted message must encode to
// bytes that decode to the same message.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"type":"join","room":"r","id":"a"}`,
		`{"v":1,"type":"offer","to":"b","data":{"sdp":"v=0\r\n","type":"offer"}}`,
		`{"v":1,"type":"candidate","to":"b","data":null}`,
		`{"v":1,"type":"leave"}`,
		`{"v":2,"type":"ping"}`,
		`{"v":1,"type":"answer","to":"b","data":"\u003c\ud800"}`,
		`{"v":1,"type":"join","room":"r","id":"a","ROOM":"x","room":"y"}`,
		`[]`, `null`, `"x"`, `{"v":1e0}`,
	} {
		f.Add([]byte(s))
	}
	known := map[ErrorCode]bool{
		CodeBadMessage: true, CodeBadVersion: true, CodeBadType: true,
		CodeBadID: true, CodeBadRoom: true,
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeRequest(b)
		if err != nil {
			var perr *Error
			if !errors.As(err, &perr) || !known[perr.Code] {
				t.Fatalf("DecodeRequest(%q) = %v: not an *Error of a decoder code", b, err)
			}
			if len(perr.Text) > 400 {
				t.Fatalf("error text of %d bytes", len(perr.Text))
			}
			return
		}
		if m.V != Version {
			t.Fatalf("accepted version %d", m.V)
		}
		if err := CheckRequest(m); err != nil {
			t.Fatalf("accepted a message CheckRequest refuses: %v", err)
		}
		enc, err := Encode(m)
		if err != nil {
			t.Fatalf("accepted message does not encode: %v", err)
		}
		m2, err := DecodeRequest(enc)
		if err != nil {
			t.Fatalf("re-encoded message %s refused: %v", enc, err)
		}
		enc2, err := Encode(m2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable:\n%s\n%s", enc, enc2)
		}
		if m.Type.IsRelay() && !json.Valid(m2.Data) {
			t.Fatalf("relayed data is not valid JSON: %q", m2.Data)
		}
	})
}

func TestEncodeKeepsHTMLCharacters(t *testing.T) {
	b, err := Encode(Message{Type: TypeOffer, To: "b", Data: json.RawMessage(`{"sdp": "a<b>&c"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"v":1,"type":"offer","to":"b","data":{"sdp":"a<b>&c"}}`; string(b) != want {
		t.Fatalf("Encode = %s, want %s", b, want)
	}
}
