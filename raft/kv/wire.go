package kv

import (
	"fmt"
	"strconv"
)

// Channel tags. Every message a node receives on the simulated network
// starts with one of these bytes, so one node can carry both Raft traffic
// and client traffic on one address: the rest of the message is a Raft
// message (raftpb), an encoded Request, or an encoded Response.
const (
	TagRaft     byte = 'R'
	TagRequest  byte = 'Q'
	TagResponse byte = 'A'
)

// WithTag returns a new slice holding tag followed by payload; it does not
// alias payload.
func WithTag(tag byte, payload []byte) []byte {
	b := make([]byte, 0, 1+len(payload))
	b = append(b, tag)
	return append(b, payload...)
}

// SplitTag splits a received message into its channel tag and payload. The
// payload aliases msg. An empty message or an unknown tag is an error
// wrapping ErrCorrupt.
func SplitTag(msg []byte) (tag byte, payload []byte, err error) {
	if len(msg) == 0 {
		return 0, nil, fmt.Errorf("%w: empty message, no channel tag", ErrCorrupt)
	}
	switch msg[0] {
	case TagRaft, TagRequest, TagResponse:
		return msg[0], msg[1:], nil
	}
	return 0, nil, fmt.Errorf("%w: unknown channel tag %#x", ErrCorrupt, msg[0])
}

// Request is what a client sends to a server: one command, identified by
// the client and its sequence number. ClientID and Seq must equal
// Cmd.ClientID and Cmd.Seq (NewRequest makes sure); DecodeRequest rejects a
// request where they differ, because the server answers by the header but
// the store executes by the command.
type Request struct {
	ClientID, Seq uint64
	Cmd           Command
}

// NewRequest returns the request carrying cmd.
func NewRequest(cmd Command) Request {
	return Request{ClientID: cmd.ClientID, Seq: cmd.Seq, Cmd: cmd}
}

// Encode returns the canonical encoding of r: ClientID and Seq as uvarints,
// then the command's encoding.
func (r Request) Encode() []byte {
	return r.Append(make([]byte, 0, 32+len(r.Cmd.Key)+len(r.Cmd.Value)+len(r.Cmd.Expected)))
}

// Append appends r's encoding (what Encode returns) to b, so a sender can
// build tag and request in one buffer it reuses.
func (r Request) Append(b []byte) []byte {
	e := encoder{b: b}
	e.u(r.ClientID)
	e.u(r.Seq)
	e.command(r.Cmd)
	return e.b
}

// DecodeRequest decodes exactly one request from b (without its channel
// tag). Errors wrap ErrCorrupt.
func DecodeRequest(b []byte) (Request, error) {
	d := newDecoder(b)
	var r Request
	r.ClientID = d.Uvarint("request client id")
	r.Seq = d.Uvarint("request seq")
	r.Cmd = d.command()
	if !d.Failed() && (r.Cmd.ClientID != r.ClientID || r.Cmd.Seq != r.Seq) {
		d.Fail("request c%d#%d carries command c%d#%d", r.ClientID, r.Seq, r.Cmd.ClientID, r.Cmd.Seq)
	}
	if err := d.Done("request"); err != nil {
		return Request{}, err
	}
	return r, nil
}

// Status says what became of one attempt of a request. A client retries
// with the same Seq until it gets StatusOK (the store executes a Seq at
// most once and answers retries from the session), so only StatusOK ends
// an operation with a known outcome. If a client gives up instead, the
// operation's outcome is unknown whenever any attempt may have been
// proposed: it may take effect at any later time.
type Status uint8

const (
	// StatusOK: the command was applied (or answered from its session);
	// Result holds the outcome.
	StatusOK Status = iota + 1
	// StatusNotLeader: this server is not the leader and did not propose
	// this attempt. LeaderHint names the leader it believes in, 0 if none.
	StatusNotLeader
	// StatusUnavailable: this server proposed the attempt but cannot say
	// whether it was applied (it lost leadership, or gave up waiting). The
	// command may still be applied later.
	StatusUnavailable

	statusEnd // one past the last valid Status
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusNotLeader:
		return "not-leader"
	case StatusUnavailable:
		return "unavailable"
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// Valid reports whether s is one of the defined statuses.
func (s Status) Valid() bool { return s >= StatusOK && s < statusEnd }

// Response is a server's answer to one attempt of a request, echoing its
// ClientID and Seq. Result is meaningful only with StatusOK; even then,
// Result.Stale means the command was not executed and its outcome is
// unknown to the server.
type Response struct {
	ClientID, Seq uint64
	Status        Status
	LeaderHint    uint64
	Result        Result
}

// Encode returns the canonical encoding of r: ClientID, Seq, a status
// byte, LeaderHint, then the result (value and a flags byte). An invalid
// Status is encoded as is, and DecodeResponse rejects it.
func (r Response) Encode() []byte { return r.Append(make([]byte, 0, 32+len(r.Result.Value))) }

// Append appends r's encoding (what Encode returns) to b.
func (r Response) Append(b []byte) []byte {
	e := encoder{b: b}
	e.u(r.ClientID)
	e.u(r.Seq)
	e.byte1(byte(r.Status))
	e.u(r.LeaderHint)
	e.result(r.Result)
	return e.b
}

// DecodeResponse decodes exactly one response from b (without its channel
// tag). Errors wrap ErrCorrupt.
func DecodeResponse(b []byte) (Response, error) {
	d := newDecoder(b)
	var r Response
	r.ClientID = d.Uvarint("response client id")
	r.Seq = d.Uvarint("response seq")
	r.Status = Status(d.Byte("status"))
	if !d.Failed() && !r.Status.Valid() {
		d.Fail("unknown %s", r.Status)
	}
	r.LeaderHint = d.Uvarint("leader hint")
	r.Result = d.result("result")
	if err := d.Done("response"); err != nil {
		return Response{}, err
	}
	return r, nil
}
