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

// traffic totals server-to-server sends by type from the trace, and
// keeps each one if asked.
type traffic struct {
	servers      sim.NodeID
	keep         bool
	messages     []Message
	count, bytes [256]uint64
}

func (t *traffic) onEvent(e *sim.Event) {
	if e.Kind != sim.KindSend || e.Node < 1 || e.Node > t.servers || e.Peer < 1 || e.Peer > t.servers {
		return
	}
	t.count[e.MsgType]++
	t.bytes[e.MsgType] += uint64(e.Size)
	if t.keep {
		t.messages = append(t.messages, Message{At: e.At, Size: uint32(min(e.Size, 1<<32-1)), Type: e.MsgType,
			From: uint8(e.Node), To: uint8(e.Peer)})
	}
}

// byType is the totals in cluster.Types order.
func (t *traffic) byType() Traffic {
	var out Traffic
	types := append(cluster.Types(), 0) // 0: not described (should not happen)
	for _, typ := range types {
		if t.count[typ] > 0 {
			name := cluster.TypeName(typ)
			if typ == 0 {
				name = "undescribed"
			}
			out = append(out, TypeTraffic{Type: name, Messages: t.count[typ], Bytes: t.bytes[typ]})
		}
	}
	return out
}
