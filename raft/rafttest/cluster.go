package rafttest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/seed4fee1fef/raftsim/raft"
	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
)

// Disk is what one node has durably persisted.
type Disk struct {
	HardState raftpb.HardState
	// Snapshot is the latest snapshot (taken with Cluster.Snapshot or
	// received from a leader), Entries the contiguous log after it.
	Snapshot raftpb.Snapshot
	Entries  []raftpb.Entry
	// Recovering and RecoverTo are what a host derives from its
	// high-water mark (see raft.Restored); LoseDurable sets them, and
	// each Ready records the node's current recovery state.
	Recovering bool
	RecoverTo  uint64
}

// Restored is the disk's contents as NewNode wants them.
func (d *Disk) Restored() raft.Restored {
	return raft.Restored{HardState: d.HardState, Entries: slices.Clone(d.Entries), Snapshot: cloneSnap(d.Snapshot),
		Recovering: d.Recovering, RecoverTo: d.RecoverTo}
}

func cloneSnap(s raftpb.Snapshot) raftpb.Snapshot {
	s.Data = slices.Clone(s.Data)
	s.Metadata.ConfState.Voters = slices.Clone(s.Metadata.ConfState.Voters)
	s.Metadata.ConfState.Learners = slices.Clone(s.Metadata.ConfState.Learners)
	return s
}

// LastIndex is the index of the last persisted entry (the snapshot's if
// the log after it is empty, 0 if there is neither).
func (d *Disk) LastIndex() uint64 {
	if len(d.Entries) == 0 {
		return d.Snapshot.Metadata.Index
	}
	return d.Entries[len(d.Entries)-1].Index
}

// persist does what the Ready contract asks: record a received snapshot
// (keeping the log after it only if the log holds its last entry), drop
// the stored suffix the new entries replace, append them, record the
// HardState.
func (d *Disk) persist(rd *raft.Ready) error {
	if s := rd.Snapshot; s != nil {
		d.compact(s.Metadata.Index, s.Metadata.Term)
		d.Snapshot = cloneSnap(*s)
	}
	if len(rd.Entries) > 0 {
		first := rd.Entries[0].Index
		base := d.Snapshot.Metadata.Index
		if first <= base || first > d.LastIndex()+1 {
			return fmt.Errorf("rafttest: Ready entries start at %d, disk holds (%d, %d]", first, base, d.LastIndex())
		}
		k := first - base - 1
		d.Entries = append(d.Entries[:k:k], rd.Entries...)
	}
	if !rd.HardState.IsEmpty() {
		d.HardState = rd.HardState
	}
	return nil
}

// compact drops the entries up to index; the rest too unless the entry at
// index has term.
func (d *Disk) compact(index, term uint64) {
	base := d.Snapshot.Metadata.Index
	if index <= base {
		return
	}
	if k := index - base; k <= uint64(len(d.Entries)) && d.Entries[k-1].Term == term {
		d.Entries = slices.Clone(d.Entries[k:])
		return
	}
	d.Entries = nil
}

// Packet is a message in flight: its wire bytes plus the decoded header
// fields tests filter on.
type Packet struct {
	From, To uint64
	Type     raftpb.MessageType
	Bytes    []byte
}

// Msg decodes the packet.
func (p Packet) Msg() raftpb.Message {
	m, err := raftpb.Unmarshal(p.Bytes)
	if err != nil {
		panic(fmt.Sprintf("rafttest: packet does not decode: %v", err))
	}
	return m
}

// Config configures every node of a Cluster.
type Config struct {
	// N nodes with IDs 1..N.
	N int
	// Voters, if set, are the initial voters; the other nodes start as
	// new servers outside the configuration (raft.Config.Join), to be
	// added by configuration changes.
	Voters        []uint64
	ElectionTick  int // default 10
	HeartbeatTick int // default 1
	PreVote       bool
	CheckQuorum   bool
	// ReadOnly and MaxClockDriftPPM configure reads (raft.Config).
	ReadOnly         raft.ReadOnlyOption
	MaxClockDriftPPM int64
	// MaxSizePerMsg defaults to 1 MiB; MaxInflightMsgs to 256.
	MaxSizePerMsg   uint64
	MaxInflightMsgs int
	// Seed seeds every node's election-timeout randomness.
	Seed uint64
	// Restored, if set for an ID, is that node's initial disk contents
	// instead of an empty disk (it then starts as if restarted).
	Restored map[uint64]raft.Restored
	// Planted bugs, for tests that prove a check catches them.
	Planted plant.Set
}

// Cluster is N nodes and the network between them.
type Cluster struct {
	cfg   Config
	ids   []uint64
	nodes map[uint64]*raft.Node // nil while crashed
	disks map[uint64]*Disk
	// applied is each node's state machine: every committed entry it
	// applied since it last (re)started, in order.
	applied  map[uint64][]raftpb.Entry
	restarts map[uint64]uint64
	// reads are each node's ReadStates, in the order its Readies gave
	// them, since it last started.
	reads map[uint64][]raft.ReadState

	// Queue is the network: packets sent and not yet delivered or
	// dropped, in send order. Tests may inspect and reorder it.
	Queue []Packet
	// cut[from][to] drops packets on that link at delivery.
	cut map[[2]uint64]bool

	// OnSend, if set, sees every message a node sends, with its wire size.
	OnSend func(m raftpb.Message, size int)
	// OnDeliver, if set, sees every message just before it is stepped.
	OnDeliver func(m raftpb.Message)
	// OnReady, if set, sees every Ready after it is persisted and before
	// its messages are queued.
	OnReady func(id uint64, rd raft.Ready)

	// StepErrors collects errors other than raft.ErrStepIgnored that Step
	// returned for delivered messages.
	StepErrors []error
}

// New builds a cluster and starts every node.
func New(cfg Config) (*Cluster, error) {
	if cfg.N <= 0 {
		return nil, errors.New("rafttest: Config.N must be > 0")
	}
	if cfg.ElectionTick == 0 {
		cfg.ElectionTick = 10
	}
	if cfg.HeartbeatTick == 0 {
		cfg.HeartbeatTick = 1
	}
	if cfg.MaxSizePerMsg == 0 {
		cfg.MaxSizePerMsg = 1 << 20
	}
	if cfg.MaxInflightMsgs == 0 {
		cfg.MaxInflightMsgs = 256
	}
	c := &Cluster{
		cfg:      cfg,
		nodes:    map[uint64]*raft.Node{},
		disks:    map[uint64]*Disk{},
		applied:  map[uint64][]raftpb.Entry{},
		restarts: map[uint64]uint64{},
		reads:    map[uint64][]raft.ReadState{},
		cut:      map[[2]uint64]bool{},
	}
	for i := 1; i <= cfg.N; i++ {
		c.ids = append(c.ids, uint64(i))
	}
	for _, id := range c.ids {
		d := &Disk{}
		if st, ok := cfg.Restored[id]; ok {
			d.HardState, d.Entries, d.Snapshot = st.HardState, slices.Clone(st.Entries), cloneSnap(st.Snapshot)
		}
		c.disks[id] = d
		if err := c.start(id); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// NodeConfigFor is the raft.Config of node id of an n-node cluster
// configured by cfg (defaults filled), for tests that drive a lone Node.
func (cfg Config) NodeConfigFor(id uint64, n int) raft.Config {
	cfg.N = n
	c, err := New(Config{N: n, Seed: cfg.Seed, Planted: cfg.Planted, PreVote: cfg.PreVote, CheckQuorum: cfg.CheckQuorum,
		ReadOnly: cfg.ReadOnly, MaxClockDriftPPM: cfg.MaxClockDriftPPM})
	if err != nil {
		panic(err)
	}
	return c.NodeConfig(id)
}

// NodeConfig is the raft.Config node id runs with (a fresh Rand each
// start, seeded from the cluster seed, the ID and the restart count).
func (c *Cluster) NodeConfig(id uint64) raft.Config {
	peers := slices.Clone(c.ids)
	if len(c.cfg.Voters) > 0 {
		peers = slices.Clone(c.cfg.Voters)
	}
	return raft.Config{
		ID:               id,
		Peers:            peers,
		Join:             !slices.Contains(peers, id),
		ElectionTick:     c.cfg.ElectionTick,
		HeartbeatTick:    c.cfg.HeartbeatTick,
		PreVote:          c.cfg.PreVote,
		CheckQuorum:      c.cfg.CheckQuorum,
		ReadOnly:         c.cfg.ReadOnly,
		MaxClockDriftPPM: c.cfg.MaxClockDriftPPM,
		MaxSizePerMsg:    c.cfg.MaxSizePerMsg,
		MaxInflightMsgs:  c.cfg.MaxInflightMsgs,
		Rand:             rand.New(rand.NewPCG(c.cfg.Seed, id<<32|c.restarts[id])),
		Planted:          c.cfg.Planted,
	}
}

func (c *Cluster) start(id uint64) error {
	d := c.disks[id]
	n, err := raft.NewNode(c.NodeConfig(id), d.Restored())
	if err != nil {
		return fmt.Errorf("rafttest: starting node %d: %w", id, err)
	}
	c.nodes[id] = n
	c.applied[id] = nil
	c.reads[id] = nil
	if !d.Snapshot.IsEmpty() {
		ents, err := decodeApplied(d.Snapshot.Data)
		if err != nil {
			return fmt.Errorf("rafttest: node %d restores snapshot %d: %w", id, d.Snapshot.Metadata.Index, err)
		}
		c.applied[id] = ents
	}
	return nil
}

// appliedIndex is the index of the last entry node id applied.
func (c *Cluster) appliedIndex(id uint64) uint64 {
	a := c.applied[id]
	if len(a) == 0 {
		return 0
	}
	return a[len(a)-1].Index
}

// Snapshot has node id take a snapshot of its state machine (every entry
// it applied, encoded) at its applied index, make it durable, and compact
// its log keeping trailing entries before the snapshot.
func (c *Cluster) Snapshot(id uint64, trailing uint64) error {
	n := c.nodes[id]
	if n == nil {
		return fmt.Errorf("rafttest: node %d is down", id)
	}
	if err := c.Process(id); err != nil {
		return err
	}
	meta, err := n.SnapshotMeta(c.appliedIndex(id))
	if err != nil {
		return err
	}
	snap := raftpb.Snapshot{Metadata: meta, Data: encodeApplied(c.applied[id])}
	d := c.disks[id]
	d.compact(meta.Index, meta.Term)
	d.Snapshot = cloneSnap(snap)
	return n.Compact(snap, trailing)
}

// encodeApplied encodes a state machine of applied entries as snapshot
// data; decodeApplied is its inverse.
func encodeApplied(ents []raftpb.Entry) []byte {
	var b []byte
	for i := range ents {
		e := raftpb.AppendEntry(nil, &ents[i])
		b = binary.AppendUvarint(b, uint64(len(e)))
		b = append(b, e...)
	}
	return b
}

func decodeApplied(b []byte) ([]raftpb.Entry, error) {
	var out []raftpb.Entry
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, errors.New("bad snapshot data")
		}
		e, err := raftpb.DecodeEntry(b[k : k+int(n)])
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		b = b[k+int(n):]
	}
	return out, nil
}

// IDs returns the node IDs in order.
func (c *Cluster) IDs() []uint64 { return slices.Clone(c.ids) }

// Node returns the running node, or nil if it is crashed.
func (c *Cluster) Node(id uint64) *raft.Node { return c.nodes[id] }

// Disk returns the node's durable state (survives crashes).
func (c *Cluster) Disk(id uint64) *Disk { return c.disks[id] }

// Applied returns the entries the node's state machine applied since it
// last started, in order.
func (c *Cluster) Applied(id uint64) []raftpb.Entry { return c.applied[id] }

// ReadStates returns the reads the node confirmed (Ready.ReadStates)
// since it last started, in order.
func (c *Cluster) ReadStates(id uint64) []raft.ReadState { return c.reads[id] }

// ReadIndex asks node id for a read identified by ctx.
func (c *Cluster) ReadIndex(id uint64, ctx string) error {
	n := c.nodes[id]
	if n == nil {
		return fmt.Errorf("rafttest: node %d is down", id)
	}
	return n.ReadIndex([]byte(ctx))
}

// Process handles every Ready the node has: persist, queue messages,
// apply, Advance. A crashed node has nothing to process.
func (c *Cluster) Process(id uint64) error {
	n := c.nodes[id]
	if n == nil {
		return nil
	}
	for n.HasReady() {
		rd := n.Ready()
		if err := c.disks[id].persist(&rd); err != nil {
			return err
		}
		// What a host keeps with its high-water mark, in the same step.
		c.disks[id].Recovering, c.disks[id].RecoverTo = n.Recovery()
		if c.OnReady != nil {
			c.OnReady(id, rd)
		}
		for i := range rd.Messages {
			m := &rd.Messages[i]
			b := m.Marshal()
			if c.OnSend != nil {
				c.OnSend(*m, len(b))
			}
			c.Queue = append(c.Queue, Packet{From: m.From, To: m.To, Type: m.Type, Bytes: b})
		}
		if s := rd.Snapshot; s != nil {
			// The state machine is the applied entries; a snapshot's
			// data is their encoding (see Cluster.Snapshot).
			ents, err := decodeApplied(s.Data)
			if err != nil {
				return fmt.Errorf("rafttest: node %d installs snapshot %d: %w", id, s.Metadata.Index, err)
			}
			c.applied[id] = ents
		}
		for _, e := range rd.CommittedEntries {
			if want := c.appliedIndex(id) + 1; e.Index != want {
				return fmt.Errorf("rafttest: node %d applies index %d, expected %d", id, e.Index, want)
			}
			c.applied[id] = append(c.applied[id], e)
		}
		c.reads[id] = append(c.reads[id], rd.ReadStates...)
		n.Advance(rd)
	}
	return nil
}

// ProcessAll processes every running node, in ID order.
func (c *Cluster) ProcessAll() error {
	for _, id := range c.ids {
		if err := c.Process(id); err != nil {
			return err
		}
	}
	return nil
}

// Deliver removes the i-th queued packet and steps it into its recipient,
// unless the recipient is down or the link is cut (then it is lost). It
// reports whether the message was stepped.
func (c *Cluster) Deliver(i int) bool {
	p := c.Queue[i]
	c.Queue = slices.Delete(c.Queue, i, i+1)
	return c.deliver(p)
}

func (c *Cluster) deliver(p Packet) bool {
	n := c.nodes[p.To]
	if n == nil || c.cut[[2]uint64{p.From, p.To}] {
		return false
	}
	m := p.Msg()
	if c.OnDeliver != nil {
		c.OnDeliver(m)
	}
	if err := n.Step(m); err != nil && !errors.Is(err, raft.ErrStepIgnored) {
		c.StepErrors = append(c.StepErrors, fmt.Errorf("step %s: %w", m, err))
	}
	return true
}

// DeliverAll delivers the packets queued now, in order (packets they cause
// stay queued). It returns how many were stepped.
func (c *Cluster) DeliverAll() int {
	return c.DeliverWhere(func(Packet) bool { return true })
}

// DeliverWhere delivers, in order, the queued packets matching keep;
// others stay queued. It returns how many were stepped.
func (c *Cluster) DeliverWhere(keep func(Packet) bool) int {
	var todo, rest []Packet
	for _, p := range c.Queue {
		if keep(p) {
			todo = append(todo, p)
		} else {
			rest = append(rest, p)
		}
	}
	c.Queue = rest
	stepped := 0
	for _, p := range todo {
		if c.deliver(p) {
			stepped++
		}
	}
	return stepped
}

// DropWhere removes the queued packets matching drop, returning how many.
func (c *Cluster) DropWhere(drop func(Packet) bool) int {
	before := len(c.Queue)
	c.Queue = slices.DeleteFunc(c.Queue, drop)
	return before - len(c.Queue)
}

// Stabilize processes and delivers until no node has a Ready and the
// queue is empty (messages on cut links are dropped). It fails if that
// takes more than 10,000 rounds.
func (c *Cluster) Stabilize() error {
	for range 10_000 {
		if err := c.ProcessAll(); err != nil {
			return err
		}
		if len(c.Queue) == 0 {
			return nil
		}
		c.DeliverAll()
	}
	return errors.New("rafttest: cluster did not stabilize in 10000 rounds")
}

// StabilizeDropping is Stabilize, except that packets for which drop
// returns true are lost instead of delivered: a scripted fault.
func (c *Cluster) StabilizeDropping(drop func(m raftpb.Message) bool) error {
	for range 10_000 {
		if err := c.ProcessAll(); err != nil {
			return err
		}
		if len(c.Queue) == 0 {
			return nil
		}
		c.DropWhere(func(p Packet) bool { return drop(p.Msg()) })
		c.DeliverAll()
	}
	return errors.New("rafttest: cluster did not stabilize in 10000 rounds")
}

// Tick ticks one node (if running).
func (c *Cluster) Tick(id uint64) {
	if n := c.nodes[id]; n != nil {
		n.Tick()
	}
}

// TickAll ticks every running node once.
func (c *Cluster) TickAll() {
	for _, id := range c.ids {
		c.Tick(id)
	}
}

// Cut drops packets from -> to until Heal.
func (c *Cluster) Cut(from, to uint64) { c.cut[[2]uint64{from, to}] = true }

// Isolate cuts every link to and from id.
func (c *Cluster) Isolate(id uint64) {
	for _, o := range c.ids {
		if o != id {
			c.Cut(id, o)
			c.Cut(o, id)
		}
	}
}

// Partition cuts every link between different groups. Nodes in no group
// are isolated.
func (c *Cluster) Partition(groups ...[]uint64) {
	group := map[uint64]int{}
	for gi, g := range groups {
		for _, id := range g {
			group[id] = gi + 1
		}
	}
	for _, a := range c.ids {
		for _, b := range c.ids {
			if a != b && (group[a] == 0 || group[a] != group[b]) {
				c.Cut(a, b)
			}
		}
	}
}

// Heal restores every link.
func (c *Cluster) Heal() { clear(c.cut) }

// Crash kills the node: everything not on its Disk is lost, including its
// state machine. Packets to it are lost until it restarts.
func (c *Cluster) Crash(id uint64) {
	c.nodes[id] = nil
	c.applied[id] = nil
	c.reads[id] = nil
}

// Restart starts a crashed (or running: crash first) node from its Disk.
func (c *Cluster) Restart(id uint64) error {
	c.Crash(id)
	c.restarts[id]++
	return c.start(id)
}

// LoseDurable crashes the node, cuts its durable log to its first keep
// entries (a storage fault: truncated or damaged synced data) and restarts
// it the way a host with a high-water mark does: term and vote kept,
// recovering until its log reaches the index it had reached before.
func (c *Cluster) LoseDurable(id uint64, keep int) error {
	c.Crash(id)
	d := c.disks[id]
	if keep < len(d.Entries) {
		d.Recovering, d.RecoverTo = true, max(d.RecoverTo, d.LastIndex())
		d.Entries = d.Entries[:keep]
		d.HardState.Commit = min(d.HardState.Commit, d.LastIndex())
	}
	// (keep counts entries after the snapshot, if any.)
	return c.Restart(id)
}

// ProposeConfChange proposes cc at node id.
func (c *Cluster) ProposeConfChange(id uint64, cc raftpb.ConfChangeV2) error {
	n := c.nodes[id]
	if n == nil {
		return fmt.Errorf("rafttest: node %d is down", id)
	}
	return n.ProposeConfChange(cc)
}

// Campaign makes the node start an election.
func (c *Cluster) Campaign(id uint64) {
	if n := c.nodes[id]; n != nil {
		n.Campaign()
	}
}

// Propose proposes data at node id.
func (c *Cluster) Propose(id uint64, data []byte) error {
	n := c.nodes[id]
	if n == nil {
		return fmt.Errorf("rafttest: node %d is down", id)
	}
	return n.Propose(data)
}

// Leader returns the running leader of the highest term, or None.
func (c *Cluster) Leader() uint64 {
	var lead, term uint64
	for _, id := range c.ids {
		if n := c.nodes[id]; n != nil {
			if st := n.Status(); st.Role == raft.Leader && st.Term > term {
				lead, term = id, st.Term
			}
		}
	}
	return lead
}

// ElectLeader campaigns at id and stabilizes, and checks id won.
func (c *Cluster) ElectLeader(id uint64) error {
	c.Campaign(id)
	if err := c.Stabilize(); err != nil {
		return err
	}
	if st := c.nodes[id].Status(); st.Role != raft.Leader {
		return fmt.Errorf("rafttest: node %d campaigned but is %s in term %d", id, st.Role, st.Term)
	}
	return nil
}

// String summarizes every node, one line each.
func (c *Cluster) String() string {
	var b strings.Builder
	for _, id := range c.ids {
		n := c.nodes[id]
		if n == nil {
			fmt.Fprintf(&b, "%d: down disk=%+v last=%d\n", id, c.disks[id].HardState, c.disks[id].LastIndex())
			continue
		}
		st := n.Status()
		fmt.Fprintf(&b, "%d: %s term=%d vote=%d lead=%d commit=%d applied=%d last=%d/%d\n",
			id, st.Role, st.Term, st.Vote, st.Lead, st.Commit, st.Applied, st.LastIndex, st.LastTerm)
	}
	return b.String()
}
