package subjecttest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"math/rand/v2"
	"slices"

	"github.com/seed4fee1fef/raftsim/raft/confchange"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/raft/tracker"
)

// Disk is what one replica's host has durably persisted: exactly what its
// Readies told it to.
type Disk struct {
	HardState raftpb.HardState
	Snapshot  raftpb.Snapshot
	// Entries is the log after the snapshot, contiguous.
	Entries []raftpb.Entry
}

func (d *Disk) lastIndex() uint64 {
	if len(d.Entries) == 0 {
		return d.Snapshot.Metadata.Index
	}
	return d.Entries[len(d.Entries)-1].Index
}

// restored is the disk as Open wants it, sharing no memory with the disk.
func (d *Disk) restored() subject.Restored {
	return subject.Restored{HardState: d.HardState, Snapshot: cloneSnap(d.Snapshot), Entries: cloneEntries(d.Entries)}
}

func cloneEntries(ents []raftpb.Entry) []raftpb.Entry {
	out := make([]raftpb.Entry, len(ents))
	for i, e := range ents {
		e.Data = slices.Clone(e.Data)
		out[i] = e
	}
	return out
}

func cloneSnap(s raftpb.Snapshot) raftpb.Snapshot {
	s.Data = slices.Clone(s.Data)
	cs := &s.Metadata.ConfState
	cs.Voters, cs.Learners, cs.VotersOutgoing = slices.Clone(cs.Voters), slices.Clone(cs.Learners), slices.Clone(cs.VotersOutgoing)
	return s
}

// Node is one replica and its host: disk, state machine, reads.
type Node struct {
	ID uint64
	// R is the running replica, nil while the node is down.
	R    subject.Replica
	Disk Disk
	// Commands are the normal entries with data the state machine
	// applied, in order, since the start of the log (a snapshot carries
	// those before it); Applied is the index of the last entry applied.
	Commands []string
	Applied  uint64
	// Reads are the read states the node's Readies handed out.
	Reads []subject.ReadState
	// SnapshotsInstalled counts snapshots its Readies delivered.
	SnapshotsInstalled int
	// Err is what halted the node (an error from its replica), if anything.
	Err error
	// model is the configuration the changes the node applied make, by
	// the subject's own rules (Subject.ApplyConfChange), from the
	// snapshot on; startCommit is the commit index the incarnation
	// started with (before applying up to it, the replica may be ahead).
	model       tracker.Config
	startCommit uint64
	// joined: the node started outside the configuration (Config.Join).
	joined      bool
	incarnation int
	rand        *armedRand
}

// Up reports whether the node runs.
func (n *Node) Up() bool { return n.R != nil && n.Err == nil }

// armedRand is the seeded rand a replica draws from, which panics on its
// next draw once armed: the way a test plants a panic inside any subject
// (every subject draws its election timeouts from it, inside its calls).
type armedRand struct {
	r     *rand.Rand
	armed bool
}

func (a *armedRand) IntN(n int) int {
	if a.armed {
		panic("planted panic: the seeded rand was armed")
	}
	return a.r.IntN(n)
}

type envelope struct {
	from, to uint64
	data     []byte
}

// Cluster runs replicas of one subject in memory: a FIFO message queue the
// test delivers, cut links, crashes that keep only the disk, and a running
// hash of every message sent. No clock, no goroutines, no unseeded
// randomness: a test using it is reproducible.
type Cluster struct {
	S    subject.Subject
	Seed uint64
	Cfg  subject.Config
	// Nodes are indexed by ID (Nodes[0] is unused).
	Nodes []*Node

	queue []envelope
	cut   [][]bool
	// Net is how unreliable delivery is; net draws its faults.
	Net  Net
	net  *rand.Rand
	hash hash.Hash64
	// Sent counts messages sent; Violations are the safety and boundary
	// failures the cluster saw (it checks as it goes).
	Sent       int
	SentByType map[raftpb.MessageType]int
	Violations []string
	// leaders is the leader seen in each term; applied the entry applied
	// at each index (term and data), by whichever node applied it first.
	leaders map[uint64]uint64
	applied map[uint64]appliedEntry
}

// Net is the chance that a delivered message is lost, delivered twice (a
// copy goes to the back of the queue), or delivered after a later one.
type Net struct {
	Loss, Duplicate, Reorder float64
}

type appliedEntry struct {
	term uint64
	typ  raftpb.EntryType
	data string
}

// DefaultConfig is the tuning a test cluster runs with.
func DefaultConfig() subject.Config {
	return subject.Config{
		ElectionTick: 10, HeartbeatTick: 1, PreVote: true, CheckQuorum: true,
		MaxSizePerMsg: 1 << 20, MaxInflightMsgs: 64,
	}
}

// NewCluster starts voters 1..n of s (bootstrapped together) and room for
// extra servers n+1..n+extra to join later.
func NewCluster(s subject.Subject, n, extra int, seed uint64, cfg subject.Config) (*Cluster, error) {
	c := &Cluster{S: s, Seed: seed, Cfg: cfg, hash: fnv.New64a(), SentByType: map[raftpb.MessageType]int{},
		net:     rand.New(rand.NewPCG(seed, 1<<63)),
		leaders: map[uint64]uint64{}, applied: map[uint64]appliedEntry{}}
	total := n + extra
	c.cut = make([][]bool, total+1)
	for i := range c.cut {
		c.cut[i] = make([]bool, total+1)
	}
	c.Nodes = make([]*Node, total+1)
	var peers []uint64
	for id := 1; id <= n; id++ {
		peers = append(peers, uint64(id))
	}
	c.Cfg.Peers = peers
	for id := 1; id <= total; id++ {
		c.Nodes[id] = &Node{ID: uint64(id), joined: id > n}
		if id <= n {
			if err := c.Restart(uint64(id)); err != nil {
				return nil, err
			}
		}
	}
	return c, nil
}

// Restart (re)opens node id from its disk alone, as a new incarnation with
// a fresh state machine rebuilt from the disk's snapshot.
func (c *Cluster) Restart(id uint64) error {
	n := c.Nodes[id]
	n.incarnation++
	n.rand = &armedRand{r: rand.New(rand.NewPCG(c.Seed, id<<16|uint64(n.incarnation)))}
	cfg := c.Cfg
	cfg.ID, cfg.Rand, cfg.Join = id, n.rand, n.joined
	r, err := c.S.Open(cfg, n.Disk.restored())
	if err != nil {
		return fmt.Errorf("open n%d: %w", id, err)
	}
	n.R, n.Err, n.Reads = r, nil, nil
	n.startCommit = r.BasicStatus().Commit
	if err := n.restoreSM(n.Disk.Snapshot); err != nil {
		return err
	}
	c.process(n)
	return nil
}

// Crash stops node id (kill -9): only its disk remains.
func (c *Cluster) Crash(id uint64) { c.Nodes[id].R = nil }

// Join starts extra server id outside the configuration.
func (c *Cluster) Join(id uint64) error { return c.Restart(id) }

// Arm makes node id's next random draw panic.
func (c *Cluster) Arm(id uint64) { c.Nodes[id].rand.armed = true }

// Isolate cuts every link to and from id; Heal restores all links.
func (c *Cluster) Isolate(id uint64) {
	for o := range c.cut {
		c.cut[id][o], c.cut[o][id] = true, true
	}
}

func (c *Cluster) Heal() {
	for i := range c.cut {
		clear(c.cut[i])
	}
}

// Hash is the running hash of every message sent, with sender and
// recipient, in order.
func (c *Cluster) Hash() uint64 { return c.hash.Sum64() }

func (c *Cluster) violate(format string, args ...any) {
	c.Violations = append(c.Violations, fmt.Sprintf(format, args...))
}

// call runs an input on node n and drains its Readies; an error from the
// replica that is not a normal refusal halts the node.
func (c *Cluster) call(n *Node, f func(subject.Replica) error) error {
	if !n.Up() {
		return fmt.Errorf("n%d is down", n.ID)
	}
	err := f(n.R)
	if errors.Is(err, subject.ErrPanicked) {
		n.Err = err
		return err
	}
	c.process(n)
	return err
}

// process drains node n's Readies in the host contract's order.
func (c *Cluster) process(n *Node) {
	for n.Up() && n.R.HasReady() {
		rd, err := n.R.Ready()
		if err != nil {
			n.Err = err
			return
		}
		c.persist(n, &rd)
		for _, m := range rd.Messages {
			c.send(n.ID, m.To, m.Data)
		}
		for i := range rd.CommittedEntries {
			c.apply(n, &rd.CommittedEntries[i])
		}
		n.Reads = append(n.Reads, rd.ReadStates...)
		if rd.SoftState != nil && rd.SoftState.Role == subject.Leader {
			term := n.R.BasicStatus().Term
			if l, ok := c.leaders[term]; ok && l != n.ID {
				c.violate("two leaders in term %d: n%d and n%d", term, l, n.ID)
			}
			c.leaders[term] = n.ID
		}
		if err := n.R.Advance(rd); err != nil {
			n.Err = err
			return
		}
		if n.Applied >= n.startCommit && !n.R.Config().Equal(n.model) {
			c.violate("n%d's configuration is %s, the changes it applied make %s", n.ID, n.R.Config(), n.model)
		}
		if rd.WantSnapshot {
			if err := c.Snapshot(n.ID, 0); err != nil {
				c.violate("n%d wanted a snapshot: %v", n.ID, err)
			}
		}
	}
}

func (c *Cluster) persist(n *Node, rd *subject.Ready) {
	d := &n.Disk
	if s := rd.Snapshot; s != nil {
		snap := cloneSnap(*s)
		var keep []raftpb.Entry
		for i, e := range d.Entries {
			if e.Index == snap.Metadata.Index && e.Term == snap.Metadata.Term {
				keep = d.Entries[i+1:]
			}
		}
		d.Snapshot, d.Entries = snap, slices.Clone(keep)
		if err := n.restoreSM(snap); err != nil {
			c.violate("n%d: %v", n.ID, err)
		}
		n.SnapshotsInstalled++
	}
	if len(rd.Entries) > 0 {
		first := rd.Entries[0].Index
		if first <= d.Snapshot.Metadata.Index || first > d.lastIndex()+1 {
			c.violate("n%d: entries from %d do not fit the disk (%d, %d]", n.ID, first, d.Snapshot.Metadata.Index, d.lastIndex())
			return
		}
		d.Entries = append(d.Entries[:first-d.Snapshot.Metadata.Index-1], cloneEntries(rd.Entries)...)
	}
	if !rd.HardState.IsEmpty() {
		d.HardState = rd.HardState
	}
}

func (c *Cluster) apply(n *Node, e *raftpb.Entry) {
	if e.Index != n.Applied+1 {
		c.violate("n%d applied entry %d after %d", n.ID, e.Index, n.Applied)
	}
	n.Applied = e.Index
	switch e.Type {
	case raftpb.EntryNormal:
		if len(e.Data) > 0 {
			n.Commands = append(n.Commands, string(e.Data))
		}
	case raftpb.EntryConfChange:
		cc, err := raftpb.DecodeConfChangeV2(e.Data)
		if err != nil {
			c.violate("n%d: configuration entry %d is not raftsim's encoding: %v", n.ID, e.Index, err)
		} else if next, err := c.S.ApplyConfChange(n.model, cc); err == nil {
			n.model = next
		}
	default:
		c.violate("n%d: entry %d has type %d", n.ID, e.Index, e.Type)
	}
	got := appliedEntry{term: e.Term, typ: e.Type, data: string(e.Data)}
	if want, ok := c.applied[e.Index]; !ok {
		c.applied[e.Index] = got
	} else if want != got {
		c.violate("state machine safety: n%d applied %+v at %d, another node %+v", n.ID, got, e.Index, want)
	}
}

func (c *Cluster) send(from, to uint64, data []byte) {
	h, ok := c.S.Peek(data)
	if !ok || h.From != from || h.To != to {
		c.violate("peek of a message n%d->n%d: %+v ok=%t", from, to, h, ok)
	}
	var hdr [16]byte
	binary.LittleEndian.PutUint64(hdr[:8], from)
	binary.LittleEndian.PutUint64(hdr[8:], to)
	c.hash.Write(hdr[:])
	c.hash.Write(data)
	c.Sent++
	c.SentByType[h.Type]++
	c.queue = append(c.queue, envelope{from: from, to: to, data: slices.Clone(data)})
}

// Deliver hands queued messages to their recipients, in the order sent
// (and the messages that causes, after them), until the queue is empty or
// limit messages were handled. Messages on cut links or to down nodes are
// lost.
func (c *Cluster) Deliver(limit int) {
	for k := 0; len(c.queue) > 0 && k < limit; k++ {
		if len(c.queue) > 1 && c.chance(c.Net.Reorder) {
			j := 1 + c.net.IntN(len(c.queue)-1)
			c.queue[0], c.queue[j] = c.queue[j], c.queue[0]
		}
		e := c.queue[0]
		c.queue = c.queue[1:]
		n := c.Nodes[e.to]
		if c.cut[e.from][e.to] || !n.Up() || c.chance(c.Net.Loss) {
			continue
		}
		if c.chance(c.Net.Duplicate) {
			c.queue = append(c.queue, envelope{from: e.from, to: e.to, data: slices.Clone(e.data)})
		}
		_ = c.call(n, func(r subject.Replica) error { return r.Step(e.from, e.data) })
	}
}

func (c *Cluster) chance(p float64) bool { return p > 0 && c.net.Float64() < p }

// Tick ticks every node that is up, in ID order.
func (c *Cluster) Tick() {
	for _, n := range c.Nodes[1:] {
		if n.Up() {
			_ = c.call(n, func(r subject.Replica) error { return r.Tick() })
		}
	}
}

// Round is a tick and the delivery of everything it causes.
func (c *Cluster) Round() {
	c.Tick()
	c.Deliver(1 << 16)
}

// Rounds runs k rounds.
func (c *Cluster) Rounds(k int) {
	for range k {
		c.Round()
	}
}

// Until runs rounds until cond holds (true) or max rounds passed (false).
func (c *Cluster) Until(max int, cond func() bool) bool {
	for range max {
		if cond() {
			return true
		}
		c.Round()
	}
	return cond()
}

// Leader is the node that leads in the highest term among those up (0 if
// none does).
func (c *Cluster) Leader() uint64 {
	var lead, term uint64
	for _, n := range c.Nodes[1:] {
		if n.Up() {
			if st := n.R.BasicStatus(); st.Role == subject.Leader && st.Term >= term {
				lead, term = n.ID, st.Term
			}
		}
	}
	return lead
}

// ElectLeader runs rounds until a leader is known to every node up and
// reachable (at most max rounds) and returns it.
func (c *Cluster) ElectLeader(max int) uint64 {
	var lead uint64
	c.Until(max, func() bool {
		lead = c.Leader()
		if lead == 0 {
			return false
		}
		for _, n := range c.Nodes[1:] {
			if n.Up() && !c.cut[lead][n.ID] && n.R.Member() && n.R.BasicStatus().Lead != lead {
				return false
			}
		}
		return true
	})
	return lead
}

// Propose proposes cmd at node id.
func (c *Cluster) Propose(id uint64, cmd string) error {
	return c.call(c.Nodes[id], func(r subject.Replica) error { return r.Propose([]byte(cmd)) })
}

// ProposeConfChange proposes cc at node id.
func (c *Cluster) ProposeConfChange(id uint64, cc raftpb.ConfChangeV2) error {
	return c.call(c.Nodes[id], func(r subject.Replica) error { return r.ProposeConfChange(cc) })
}

// ReadIndex asks node id for a read index with ctx.
func (c *Cluster) ReadIndex(id uint64, ctx string) error {
	return c.call(c.Nodes[id], func(r subject.Replica) error { return r.ReadIndex([]byte(ctx)) })
}

// TransferLeadership asks node id to hand leadership to to.
func (c *Cluster) TransferLeadership(id, to uint64) error {
	return c.call(c.Nodes[id], func(r subject.Replica) error { return r.TransferLeadership(to) })
}

// Snapshot has node id snapshot its state machine at its applied index,
// persist it, and compact its log keeping trailing entries.
func (c *Cluster) Snapshot(id uint64, trailing uint64) error {
	n := c.Nodes[id]
	if !n.Up() {
		return fmt.Errorf("n%d is down", id)
	}
	meta, err := n.R.SnapshotMeta(n.Applied)
	if err != nil {
		return err
	}
	snap := raftpb.Snapshot{Metadata: meta, Data: encodeSM(n.Applied, n.Commands)}
	d := &n.Disk
	d.Snapshot = cloneSnap(snap)
	d.Entries = slices.DeleteFunc(d.Entries, func(e raftpb.Entry) bool { return e.Index <= meta.Index })
	return n.R.Compact(snap, trailing)
}

// restoreSM rebuilds the state machine (and the configuration model) from
// a snapshot (empty: nothing).
func (n *Node) restoreSM(s raftpb.Snapshot) error {
	n.Commands, n.Applied = nil, 0
	n.model = confchange.Restore(s.Metadata.ConfState)
	if s.IsEmpty() {
		return nil
	}
	applied, cmds, err := decodeSM(s.Data)
	if err != nil {
		return fmt.Errorf("snapshot %d: %w", s.Metadata.Index, err)
	}
	if applied != s.Metadata.Index {
		return fmt.Errorf("snapshot %d holds a state machine at %d", s.Metadata.Index, applied)
	}
	n.Commands, n.Applied = cmds, applied
	return nil
}

func encodeSM(applied uint64, cmds []string) []byte {
	b := binary.AppendUvarint(nil, applied)
	for _, c := range cmds {
		b = binary.AppendUvarint(b, uint64(len(c)))
		b = append(b, c...)
	}
	return b
}

func decodeSM(b []byte) (uint64, []string, error) {
	applied, k := binary.Uvarint(b)
	if k <= 0 {
		return 0, nil, errors.New("bad state machine encoding")
	}
	b = b[k:]
	var cmds []string
	for len(b) > 0 {
		l, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < l {
			return 0, nil, errors.New("bad state machine encoding")
		}
		cmds = append(cmds, string(b[k:k+int(l)]))
		b = b[k+int(l):]
	}
	return applied, cmds, nil
}
