package sim

import (
	"fmt"
	"math"
	"time"
)

// LinkConfig describes one direction of one link.
type LinkConfig struct {
	// Each message's latency is drawn uniformly from [MinLatency, MaxLatency].
	MinLatency time.Duration
	MaxLatency time.Duration
	// Loss is the probability a message is dropped.
	Loss float64
	// Duplicate is the probability a message is delivered twice.
	Duplicate float64
	// Reorder is the probability a message gives up its FIFO place and is
	// held back up to 2×MaxLatency more; otherwise a link delivers in order.
	Reorder float64
}

// Validate names the first nonsensical field.
func (c LinkConfig) Validate() error {
	switch {
	case c.MinLatency < 0:
		return fmt.Errorf("link: min latency %v is negative", c.MinLatency)
	case c.MaxLatency < c.MinLatency:
		return fmt.Errorf("link: max latency %v is below min latency %v", c.MaxLatency, c.MinLatency)
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"loss", c.Loss}, {"duplicate", c.Duplicate}, {"reorder", c.Reorder}} {
		if math.IsNaN(p.v) || p.v < 0 || p.v > 1 {
			return fmt.Errorf("link: %s probability %v is outside [0, 1]", p.name, p.v)
		}
	}
	return nil
}

// LinkStats counts what one direction of a link carried.
type LinkStats struct {
	Sent, Delivered, Dropped, Duplicated uint64
	BytesSent, BytesDelivered            uint64
}

func (s *LinkStats) add(o LinkStats) {
	s.Sent += o.Sent
	s.Delivered += o.Delivered
	s.Dropped += o.Dropped
	s.Duplicated += o.Duplicated
	s.BytesSent += o.BytesSent
	s.BytesDelivered += o.BytesDelivered
}

type link struct {
	cfg         LinkConfig
	cut         bool
	lastArrival Time // FIFO: an in-order message never overtakes its predecessor
	stats       LinkStats
}

type message struct {
	id       uint64
	from, to NodeID
	data     []byte
	// syncMark: the sender's disk syncs this message waited for (see Env.Send).
	syncMark uint64
	info     MsgInfo // the trace's Describer on data
}

// event is a trace event about m at now.
func (m *message) event(now Time, kind Kind, node, peer NodeID) Event {
	return Event{At: now, Kind: kind, Node: node, Peer: peer, Msg: m.id, Size: int64(len(m.data)),
		MsgType: m.info.Type, Term: m.info.Term, Index: m.info.Index}
}

// Network carries byte messages between nodes with per-link latency, loss,
// duplication, reordering and a connectivity matrix (cuts may be one-way).
type Network struct {
	w     *World
	n     int    // nodes are 1..n
	links []link // (from, to) at from*(n+1)+to
	rand  *Rand
	msgID uint64
	slab  []byte // what is left of the chunk message copies are carved from
}

// slabChunk is the size of the chunks small message copies are carved
// from: one allocation per chunk instead of one per message (and fewer
// objects for the collector). A chunk lives while any copy in it does.
const slabChunk = 32 << 10

func newNetwork(w *World, n int, def LinkConfig) *Network {
	net := &Network{w: w, rand: w.Rand("network")}
	net.grow(n, def)
	return net
}

func (net *Network) grow(n int, def LinkConfig) {
	old, oldN := net.links, net.n
	net.n = n
	net.links = make([]link, (n+1)*(n+1))
	for i := range net.links {
		net.links[i].cfg = def
	}
	for f := 1; f <= oldN; f++ {
		for t := 1; t <= oldN; t++ {
			net.links[f*(n+1)+t] = old[f*(oldN+1)+t]
		}
	}
}

func (net *Network) link(from, to NodeID) *link { return &net.links[int(from)*(net.n+1)+int(to)] }

func (net *Network) check(ids ...NodeID) error {
	for _, id := range ids {
		if id < 1 || int(id) > net.n {
			return fmt.Errorf("network: unknown node %d (nodes are 1..%d)", id, net.n)
		}
	}
	return nil
}

// SetLink configures the from→to direction.
func (net *Network) SetLink(from, to NodeID, cfg LinkConfig) error {
	if err := net.check(from, to); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%s→%s: %w", from, to, err)
	}
	net.link(from, to).cfg = cfg
	return nil
}

// Link returns the from→to configuration.
func (net *Network) Link(from, to NodeID) LinkConfig { return net.link(from, to).cfg }

// SetAllLinks configures every direction of every link.
func (net *Network) SetAllLinks(cfg LinkConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	for i := range net.links {
		net.links[i].cfg = cfg
	}
	return nil
}

// Cut stops messages from→to (one way). Messages already in flight on a
// cut link are lost when they arrive.
func (net *Network) Cut(from, to NodeID) error { return net.setCut(from, to, true) }

// Connect restores from→to.
func (net *Network) Connect(from, to NodeID) error { return net.setCut(from, to, false) }

func (net *Network) setCut(from, to NodeID, cut bool) error {
	if err := net.check(from, to); err != nil {
		return err
	}
	if net.link(from, to).cut != cut {
		net.link(from, to).cut = cut
		note := "connect"
		if cut {
			note = "cut"
		}
		net.w.trace.add(Event{At: net.w.now, Kind: KindFault, Node: from, Peer: to, Note: note}, nil)
	}
	return nil
}

// Connected reports whether from→to currently carries messages.
func (net *Network) Connected(from, to NodeID) bool {
	return net.check(from, to) == nil && !net.link(from, to).cut
}

// Partition cuts every pair of nodes in different groups, both ways, and
// connects every pair within a group. Nodes in no group keep their links.
func (net *Network) Partition(groups ...[]NodeID) error {
	group := make([]int, net.n+1) // 0: in no group
	for g, ids := range groups {
		if err := net.check(ids...); err != nil {
			return fmt.Errorf("partition: %w", err)
		}
		for _, id := range ids {
			if group[id] != 0 {
				return fmt.Errorf("partition: node %s is in two groups", id)
			}
			group[id] = g + 1
		}
	}
	for f := 1; f <= net.n; f++ {
		for t := 1; t <= net.n; t++ {
			if f == t || group[f] == 0 || group[t] == 0 {
				continue
			}
			_ = net.setCut(NodeID(f), NodeID(t), group[f] != group[t])
		}
	}
	return nil
}

// Isolate cuts node id off from every other node, both ways.
func (net *Network) Isolate(id NodeID) error {
	if err := net.check(id); err != nil {
		return err
	}
	for o := 1; o <= net.n; o++ {
		if NodeID(o) != id {
			_ = net.setCut(id, NodeID(o), true)
			_ = net.setCut(NodeID(o), id, true)
		}
	}
	return nil
}

// Heal connects every pair.
func (net *Network) Heal() {
	for f := 1; f <= net.n; f++ {
		for t := 1; t <= net.n; t++ {
			_ = net.setCut(NodeID(f), NodeID(t), false)
		}
	}
}

// Stats returns what from→to carried so far.
func (net *Network) Stats(from, to NodeID) LinkStats {
	if net.check(from, to) != nil {
		return LinkStats{}
	}
	return net.link(from, to).stats
}

// Received totals what every link into id carried so far.
func (net *Network) Received(id NodeID) LinkStats {
	var s LinkStats
	if net.check(id) == nil {
		for f := 1; f <= net.n; f++ {
			s.add(net.link(NodeID(f), id).stats)
		}
	}
	return s
}

// Sent totals what every link out of id carried so far.
func (net *Network) Sent(id NodeID) LinkStats {
	var s LinkStats
	if net.check(id) == nil {
		for t := 1; t <= net.n; t++ {
			s.add(net.link(id, NodeID(t)).stats)
		}
	}
	return s
}

// Total sums every link.
func (net *Network) Total() LinkStats {
	var s LinkStats
	for i := range net.links {
		s.add(net.links[i].stats)
	}
	return s
}

func (net *Network) newMessage(from, to NodeID, data []byte) message {
	net.msgID++
	return message{id: net.msgID, from: from, to: to, data: net.copyData(data), info: net.w.trace.describe(data)}
}

// copyData returns a copy of p that no one else sees: its capacity ends
// where it does, so a receiver that appends to it moves elsewhere.
func (net *Network) copyData(p []byte) []byte {
	n := len(p)
	switch {
	case n == 0:
		return nil
	case n > slabChunk/8:
		return append([]byte(nil), p...)
	case len(net.slab) < n:
		net.slab = make([]byte, slabChunk)
	}
	b := net.slab[:n:n]
	net.slab = net.slab[n:]
	copy(b, p)
	return b
}

// send puts data on the from→to link now.
func (net *Network) send(from, to NodeID, data []byte) {
	net.depart(net.newMessage(from, to, data))
}

func (net *Network) depart(m message) {
	w := net.w
	if net.check(m.to) != nil {
		e := m.event(w.now, KindDrop, m.from, m.to)
		e.Note = "no such node"
		w.trace.add(e, nil)
		return
	}
	l := net.link(m.from, m.to)
	l.stats.Sent++
	l.stats.BytesSent += uint64(len(m.data))
	w.trace.add(m.event(w.now, KindSend, m.from, m.to), m.data)
	if l.cut {
		net.drop(l, m, "partition")
		return
	}
	if net.rand.Chance(l.cfg.Loss) {
		net.drop(l, m, "loss")
		return
	}
	net.schedule(l, m)
	if net.rand.Chance(l.cfg.Duplicate) {
		l.stats.Duplicated++
		e := m.event(w.now, KindDup, m.from, m.to)
		e.Size = 0
		w.trace.add(e, nil)
		dup := message{id: m.id, from: m.from, to: m.to, data: net.copyData(m.data), info: m.info}
		net.schedule(l, dup)
	}
}

func (net *Network) schedule(l *link, m message) {
	at := net.w.now.Add(time.Duration(net.rand.Int64Range(int64(l.cfg.MinLatency), int64(l.cfg.MaxLatency))))
	if net.rand.Chance(l.cfg.Reorder) {
		at = at.Add(time.Duration(net.rand.Int64Range(0, 2*int64(l.cfg.MaxLatency))))
	} else {
		if at < l.lastArrival {
			at = l.lastArrival
		}
		l.lastArrival = at
	}
	_, ev := net.w.schedule(at, evDeliver)
	ev.msg = m
}

func (net *Network) drop(l *link, m message, why string) {
	l.stats.Dropped++
	e := m.event(net.w.now, KindDrop, m.to, m.from)
	e.Note = why
	net.w.trace.add(e, nil)
}

// arrive handles a delivery event; it reports true if the destination is
// busy or paused and the event was parked to wait for it.
func (net *Network) arrive(idx uint32, m *message) bool {
	w := net.w
	l := net.link(m.from, m.to)
	if l.cut {
		net.drop(l, *m, "partition")
		return false
	}
	p := w.procs[m.to]
	if !p.up {
		net.drop(l, *m, "down")
		return false
	}
	if w.hold(p, idx) {
		return true
	}
	l.stats.Delivered++
	l.stats.BytesDelivered += uint64(len(m.data))
	w.trace.add(m.event(w.now, KindDeliver, m.to, m.from), nil)
	h := p.handler
	w.dispatch(p, func() { h.Receive(m.from, m.data) })
	return false
}
