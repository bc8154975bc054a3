package kv_test

import (
	"fmt"

	"github.com/seed4fee1fef/raftsim/raft/kv"
)

// A request's path through one server, with Raft left out: the client
// tags and sends a request; the server splits the tag, decodes the
// request and proposes the command's encoding; when the entry commits,
// every replica applies it, and the server holding the request answers.
func Example() {
	// Client.
	wire := kv.WithTag(kv.TagRequest, kv.NewRequest(kv.Command{
		ClientID: 1, Seq: 1, Op: kv.OpCAS, Key: "x", Expected: "", Value: "a",
	}).Encode())

	// Server: receive.
	tag, payload, err := kv.SplitTag(wire)
	if err != nil || tag != kv.TagRequest {
		return // not for the client channel: hand to Raft, or drop garbage
	}
	req, err := kv.DecodeRequest(payload)
	if err != nil {
		return
	}
	entry := req.Cmd.Encode() // propose this to Raft

	// Server: the entry committed at index 1 (a retry committed it again at 2).
	store := kv.New()
	for _, index := range []uint64{1, 2} {
		res, err := store.Apply(index, entry)
		if err != nil {
			panic(err) // host bug or damaged log: stop
		}
		cmd, _ := kv.DecodeCommand(entry) // who to answer
		resp := kv.Response{ClientID: cmd.ClientID, Seq: cmd.Seq, Status: kv.StatusOK, Result: res}
		reply := kv.WithTag(kv.TagResponse, resp.Encode())

		// Client: receive.
		_, payload, _ = kv.SplitTag(reply)
		got, _ := kv.DecodeResponse(payload)
		fmt.Printf("index %d: %s %+v\n", index, got.Status, got.Result)
	}
	// Output:
	// index 1: ok {Value: Found:false Applied:true Stale:false}
	// index 2: ok {Value: Found:false Applied:true Stale:false}
}
