package runner

import (
	"fmt"
	"strings"

	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/sim"
)

// Message is one message a server sent another, as the trace described it
// (cluster.Wire): what counting expectations are judged on.
type Message struct {
	At   sim.Time
	Size uint32
	Type uint8 // cluster.TypeName names it
	From uint8 // servers are at most 64
	To   uint8
}

// TypeTraffic is what servers sent one another of one message type.
type TypeTraffic struct {
	Type     string `json:"type"` // cluster.TypeName: "app", "vote", ...
	Messages uint64 `json:"messages"`
	Bytes    uint64 `json:"bytes"`
}

// Traffic is server-to-server traffic by message type, in cluster.Types
// order, types never sent left out.
type Traffic []TypeTraffic

// String is "app=120/34567B vote=4/160B ...".
func (t Traffic) String() string {
	if len(t) == 0 {
		return "none"
	}
	parts := make([]string, len(t))
	for i, tt := range t {
		parts[i] = fmt.Sprintf("%s=%d/%dB", tt.Type, tt.Messages, tt.Bytes)
	}
	return strings.Join(parts, " ")
}

// traffic records every server-to-server send from the trace.
type traffic struct {
	servers  sim.NodeID
	messages []Message
}

func (t *traffic) onEvent(e *sim.Event) {
	if e.Kind != sim.KindSend || e.Node < 1 || e.Node > t.servers || e.Peer < 1 || e.Peer > t.servers {
		return
	}
	t.messages = append(t.messages, Message{At: e.At, Size: uint32(min(e.Size, 1<<32-1)), Type: e.MsgType,
		From: uint8(e.Node), To: uint8(e.Peer)})
}

// byType totals the messages by type.
func byType(msgs []Message) Traffic {
	var count, bytes [256]uint64
	for _, m := range msgs {
		count[m.Type]++
		bytes[m.Type] += uint64(m.Size)
	}
	var out Traffic
	types := append(cluster.Types(), 0) // 0: not described (should not happen)
	for _, typ := range types {
		if count[typ] > 0 {
			name := cluster.TypeName(typ)
			if typ == 0 {
				name = "undescribed"
			}
			out = append(out, TypeTraffic{Type: name, Messages: count[typ], Bytes: bytes[typ]})
		}
	}
	return out
}
