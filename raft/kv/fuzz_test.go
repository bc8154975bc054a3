package kv

import (
	"bytes"
	"errors"
	"testing"
)

// Every decoder must, for any input: not panic; fail only with ErrCorrupt;
// and when it succeeds, give back a value whose encoding is the input
// (encodings are canonical).

func fuzzSeeds(f *testing.F, seeds ...[]byte) {
	f.Add([]byte{})
	f.Add([]byte{0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	for _, s := range seeds {
		f.Add(s)
	}
}

func checkDecoded(t *testing.T, in []byte, err error, reencode func() []byte) {
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error does not wrap ErrCorrupt: %v", err)
		}
		return
	}
	if out := reencode(); !bytes.Equal(in, out) {
		t.Fatalf("not canonical:\n in  %x\n out %x", in, out)
	}
}

var seedCommands = []Command{
	{ClientID: 1, Seq: 1, Op: OpPut, Key: "k", Value: "v"},
	{ClientID: 300, Seq: 1 << 40, Op: OpCAS, Key: "key", Value: "new", Expected: "old"},
	{Op: OpGet, Key: "k"},
	{ClientID: 2, Seq: 7, Op: OpAppend, Key: "", Value: "\xff\x00"},
}

func FuzzDecodeCommand(f *testing.F) {
	var seeds [][]byte
	for _, c := range seedCommands {
		seeds = append(seeds, c.Encode())
	}
	fuzzSeeds(f, seeds...)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCommand(b)
		checkDecoded(t, b, err, c.Encode)
	})
}

func FuzzDecodeRequest(f *testing.F) {
	var seeds [][]byte
	for _, c := range seedCommands {
		seeds = append(seeds, NewRequest(c).Encode())
	}
	fuzzSeeds(f, seeds...)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRequest(b)
		checkDecoded(t, b, err, r.Encode)
	})
}

func FuzzDecodeResponse(f *testing.F) {
	fuzzSeeds(f,
		Response{ClientID: 1, Seq: 2, Status: StatusOK, Result: Result{Value: "v", Found: true}}.Encode(),
		Response{ClientID: 1, Seq: 2, Status: StatusNotLeader, LeaderHint: 3}.Encode(),
		Response{ClientID: 1, Seq: 2, Status: StatusOK, Result: Result{Stale: true, Applied: true}}.Encode(),
	)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeResponse(b)
		checkDecoded(t, b, err, r.Encode)
	})
}

func FuzzRestore(f *testing.F) {
	s := New()
	for i, c := range seedCommands {
		if _, err := s.Apply(uint64(i+1), c.Encode()); err != nil {
			f.Fatal(err)
		}
	}
	fuzzSeeds(f, New().Snapshot(), s.Snapshot())
	f.Fuzz(func(t *testing.T, b []byte) {
		st := New()
		err := st.Restore(b)
		checkDecoded(t, b, err, st.Snapshot)
		if err != nil {
			if !bytes.Equal(st.Snapshot(), New().Snapshot()) {
				t.Fatal("a failed restore changed the store")
			}
			return
		}
		// A restored store keeps working.
		if _, err := st.Apply(st.AppliedIndex()+1, seedCommands[0].Encode()); err != nil && st.AppliedIndex() != ^uint64(0) {
			t.Fatalf("apply after restore: %v", err)
		}
	})
}

func FuzzSplitTag(f *testing.F) {
	fuzzSeeds(f, []byte{TagRaft}, WithTag(TagResponse, []byte("x")))
	f.Fuzz(func(t *testing.T, b []byte) {
		tag, p, err := SplitTag(b)
		checkDecoded(t, b, err, func() []byte { return WithTag(tag, p) })
	})
}
