// Package cluster puts a Raft cluster and its clients on a simulated
// World: N servers on nodes 1..N, M clients on nodes N+1..N+M (c1..cM:
// unbound ones first, then client groups bound to some servers), each
// built from its disk alone at every (re)start. It holds the omniscient
// view a checker needs (every live server, the shared history) but never
// lets one node see another's memory. Its Wire tells the trace what each
// message is.
package cluster

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/linearizability/client"
	"github.com/seed4fee1fef/raftsim/linearizability/history"
	"github.com/seed4fee1fef/raftsim/linearizability/invariants"
	"github.com/seed4fee1fef/raftsim/raft/server"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/raft/vfs"
	"github.com/seed4fee1fef/raftsim/scenarios/diskfs"
	"github.com/seed4fee1fef/raftsim/sim"
)

// Config describes a cluster. Zero fields take defaults.
type Config struct {
	Servers int
	// Voters are the initial configuration (default: every server). The
	// other servers start idle, outside the configuration, with empty
	// disks, until a membership change adds them.
	Voters []int
	// Clients are unbound: they send to every server. Groups' clients
	// come after them (node ids N+Clients+1...), in group order.
	Clients  int
	Groups   []ClientGroup
	Workload client.Workload
	Server   server.Config // tuning shared by every server (ID and Peers are set per node)
	Client   client.Config // timeouts shared by every client
	// OnSend, if set, sees every message a server sends (after the host
	// persisted what it depends on), for tests and traffic metrics. It must
	// not keep msg.
	OnSend func(from, to uint64, msg []byte)

	_ struct{}
}

// ClientGroup is Count clients bound to some servers: they send to those
// only, and follow a leader hint only to one of them. Servers are ids or
// leader-relative references (faults.RefLeader...), resolved at From
// against the leader then; the clients issue nothing before From. Until,
// if set, ends the binding: from then on they use every server.
type ClientGroup struct {
	Count       int
	Servers     []int
	From, Until time.Duration
	// Mix, if any weight is set, is these clients' operation mix instead
	// of the workload's (read-only clients, say, next to writers).
	Mix Mix
}

// Mix is a client group's operation weights; the zero Mix means the
// workload's.
type Mix struct{ Put, Get, Append, CAS int }

// IsZero reports whether m is unset.
func (m Mix) IsZero() bool { return m == Mix{} }

// AllClients is the number of clients: unbound and in groups.
func (c Config) AllClients() int {
	n := c.Clients
	for _, g := range c.Groups {
		n += g.Count
	}
	return n
}

// Validate names the first nonsensical value.
func (c Config) Validate() error {
	if c.Servers < 1 {
		return fmt.Errorf("cluster: servers = %d, want at least 1", c.Servers)
	}
	for _, id := range c.Voters {
		if id < 1 || id > c.Servers {
			return fmt.Errorf("cluster: voter n%d out of range n1..n%d", id, c.Servers)
		}
	}
	if c.Clients < 0 {
		return fmt.Errorf("cluster: clients = %d, want 0 or more", c.Clients)
	}
	for i, g := range c.Groups {
		if err := g.Validate(c.Servers); err != nil {
			return fmt.Errorf("cluster: client group %d: %w", i+1, err)
		}
	}
	if c.AllClients() > 0 {
		if err := c.Workload.Validate(); err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
	}
	return nil
}

// Validate checks g against a cluster of servers servers.
func (g ClientGroup) Validate(servers int) error {
	switch {
	case g.Count < 1:
		return fmt.Errorf("count %d, want at least 1", g.Count)
	case g.From < 0 || (g.Until != 0 && g.Until <= g.From):
		return fmt.Errorf("bound from %v until %v: want 0 <= from < until", g.From, g.Until)
	case g.Mix.Put < 0 || g.Mix.Get < 0 || g.Mix.Append < 0 || g.Mix.CAS < 0:
		return fmt.Errorf("negative mix weight %+v", g.Mix)
	}
	if err := faults.ValidateTargets(g.Servers, servers); err != nil {
		var ve *faults.ValidationError
		if errors.As(err, &ve) {
			return errors.New(ve.Reason)
		}
		return err
	}
	if slices.ContainsFunc(g.Servers, faults.IsRef) && g.From == 0 {
		return errors.New("leader-relative servers are resolved at From, which must be after the first election (not 0)")
	}
	return nil
}

// Cluster is a running cluster on a World.
type Cluster struct {
	W       *sim.World
	cfg     Config
	servers []*server.Server // by node id; nil while down
	clients []*client.Client // by client index
	// started says a client has begun issuing (its group's From passed);
	// load says the load is on (StartLoad, until StopLoad).
	started []bool
	load    bool
	History *history.History
	// ran says a server has been started before: a later start with an
	// empty disk is a replaced disk, not a new member.
	ran []bool
	ops []*operation
	// minVoters is the operator's floor (SetMinVoters).
	minVoters int
	// promotions are the learners' promotions leaders accepted.
	promotions []Promotion
}

// New starts the servers and clients on w, which must have at least
// Servers+Clients nodes. Clients are idle until StartLoad.
func New(w *sim.World, cfg Config) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if w.Nodes() < cfg.Servers+cfg.AllClients() {
		return nil, fmt.Errorf("cluster: world has %d nodes, need %d servers + %d clients", w.Nodes(), cfg.Servers, cfg.AllClients())
	}
	c := &Cluster{W: w, cfg: cfg, servers: make([]*server.Server, cfg.Servers+1), History: history.New(),
		ran: make([]bool, cfg.Servers+1)}
	w.Trace().SetDescriber(Wire{Peek: cfg.Server.Subject.Peek})
	peers := make([]uint64, cfg.Servers)
	for i := range peers {
		peers[i] = uint64(i + 1)
	}
	voters := peers
	if len(cfg.Voters) > 0 {
		voters = toIDs(cfg.Voters)
	}
	for i := 1; i <= cfg.Servers; i++ {
		id := i
		scfg := cfg.Server
		scfg.ID, scfg.Peers = uint64(id), voters
		initial := slices.Contains(voters, uint64(id))
		err := w.Start(sim.NodeID(id), func(env *sim.Env) (sim.Handler, error) {
			c.servers[id] = nil
			scfg := scfg
			switch {
			case c.ran[id]:
				scfg.EmptyDisk = server.Replaced
			case !initial:
				scfg.EmptyDisk = server.Join
			}
			c.ran[id] = true
			s, err := server.Start(serverEnv{env, uint64(id), cfg.OnSend}, scfg)
			if err != nil {
				return nil, err
			}
			c.servers[id] = s
			return serverHandler{s}, nil
		})
		if err != nil {
			return nil, err
		}
	}
	// Unbound clients, then each group's: a group bound to explicit
	// servers sends to them from the start; one bound to leader-relative
	// servers to every server, until its From resolves them.
	groups := append([]ClientGroup{{Count: cfg.Clients}}, cfg.Groups...)
	for gi, g := range groups {
		first := len(c.clients)
		servers := peers
		if gi > 0 && !slices.ContainsFunc(g.Servers, faults.IsRef) {
			servers = toIDs(g.Servers)
		}
		for k := 0; k < g.Count; k++ {
			id := cfg.Servers + 1 + len(c.clients)
			ccfg := cfg.Client
			ccfg.ID, ccfg.Servers, ccfg.Workload = uint64(id), servers, cfg.Workload
			if m := g.Mix; !m.IsZero() {
				ccfg.Workload.Put, ccfg.Workload.Get, ccfg.Workload.Append, ccfg.Workload.CAS = m.Put, m.Get, m.Append, m.CAS
			}
			ccfg.Name = c.Names().Name(id)
			var cl *client.Client
			err := w.Start(sim.NodeID(id), func(env *sim.Env) (sim.Handler, error) {
				var err error
				cl, err = client.New(clientEnv{env, w}, ccfg, c.History)
				if err != nil {
					return nil, err
				}
				return clientHandler{cl}, nil
			})
			if err != nil {
				return nil, err
			}
			if cl == nil {
				return nil, fmt.Errorf("cluster: client %s: %w", ClientName(len(c.clients)), w.StartError(sim.NodeID(id)))
			}
			c.clients = append(c.clients, cl)
			c.started = append(c.started, g.From == 0)
		}
		if gi > 0 {
			c.schedule(g, first, len(c.clients))
		}
	}
	return c, nil
}

// schedule binds clients [first, last) at g.From (resolving leader-
// relative servers then) and unbinds them at g.Until. The events are
// queued now, before any fault schedule is installed, so at one instant
// a binding resolves the leader before faults that start then do.
func (c *Cluster) schedule(g ClientGroup, first, last int) {
	w := c.W
	names := clientNames(first, last)
	if g.From > 0 {
		w.At(sim.Time(g.From), func() {
			if slices.ContainsFunc(g.Servers, faults.IsRef) {
				lead, _ := c.Leader()
				if lead == 0 {
					w.Note(0, fmt.Sprintf("clients %s not bound: no leader at %v; they use every server", names, w.Now()))
				} else {
					ids := faults.ResolveRefs(g.Servers, lead, c.cfg.Servers, w.Rand("clients/bind"))
					for _, cl := range c.clients[first:last] {
						cl.SetServers(toIDs(ids))
					}
					w.Note(0, fmt.Sprintf("clients %s bound to %s (leader n%d)", names, idList(ids), lead))
				}
			}
			for j := first; j < last; j++ {
				c.started[j] = true
				c.clients[j].SetActive(c.load)
			}
		})
	}
	if g.Until > 0 {
		w.At(sim.Time(g.Until), func() {
			all := toIDs(allServers(c.cfg.Servers))
			for _, cl := range c.clients[first:last] {
				cl.SetServers(all)
			}
			w.Note(0, fmt.Sprintf("clients %s unbound: they use every server", names))
		})
	}
}

// ClientName is how reports and scripts name the client at index j
// (from 0): c1, c2, ...; its node id is Servers+1+j.
func ClientName(j int) string { return "c" + strconv.Itoa(j+1) }

func clientNames(first, last int) string {
	names := make([]string, 0, last-first)
	for j := first; j < last; j++ {
		names = append(names, ClientName(j))
	}
	return strings.Join(names, ",")
}

func idList(ids []int) string {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = "n" + strconv.Itoa(id)
	}
	return strings.Join(names, ",")
}

func allServers(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

func toIDs(ids []int) []uint64 {
	out := make([]uint64, len(ids))
	for i, id := range ids {
		out[i] = uint64(id)
	}
	return out
}

// StartLoad makes every client issue operations; StopLoad pauses them (a
// quiet period).
func (c *Cluster) StartLoad() { c.setLoad(true) }

// StopLoad stops clients from issuing new operations.
func (c *Cluster) StopLoad() { c.setLoad(false) }

func (c *Cluster) setLoad(on bool) {
	c.load = on
	for j, cl := range c.clients {
		cl.SetActive(on && c.started[j])
	}
}

// Clients is the number of clients (unbound and bound).
func (c *Cluster) Clients() int { return len(c.clients) }

// World is the world the cluster runs on.
func (c *Cluster) World() *sim.World { return c.W }

// Servers is the number of servers.
func (c *Cluster) Servers() int { return c.cfg.Servers }

// Server returns the live server at node id, or nil if it is down.
func (c *Cluster) Server(id int) *server.Server {
	if id < 1 || id > c.cfg.Servers || !c.W.Up(sim.NodeID(id)) {
		return nil
	}
	return c.servers[id]
}

// Node is the live server at id as the invariant checker's read-only
// view, or nil (a nil interface, not a nil pointer) while it is down.
func (c *Cluster) Node(id int) invariants.Node {
	if s := c.Server(id); s != nil {
		return s
	}
	return nil
}

// Leader returns the live leader with the highest term, or 0.
func (c *Cluster) Leader() (id int, term uint64) {
	for i := 1; i <= c.cfg.Servers; i++ {
		if s := c.Server(i); s != nil {
			if st := s.BasicStatus(); st.Role == subject.Leader && st.Term >= term {
				id, term = i, st.Term
			}
		}
	}
	return id, term
}

// TransferLeadership asks the live leader to hand leadership to server
// to (0: its most up-to-date follower): the transfer fault's action.
func (c *Cluster) TransferLeadership(to int) error {
	lead, _ := c.Leader()
	if lead == 0 {
		return errors.New("no leader")
	}
	return c.Server(lead).TransferLeadership(uint64(to))
}

// ClientStats sums every client's counters.
func (c *Cluster) ClientStats() client.Stats {
	var t client.Stats
	for _, cl := range c.clients {
		s := cl.Stats()
		t.Issued += s.Issued
		t.Completed += s.Completed
		t.GaveUp += s.GaveUp
		t.Retries += s.Retries
		t.Redirects += s.Redirects
	}
	return t
}

// serverEnv adapts a sim.Env to server.Env.
type serverEnv struct {
	e      *sim.Env
	id     uint64
	onSend func(from, to uint64, msg []byte)
}

func (a serverEnv) Send(to uint64, msg []byte) {
	if a.onSend != nil {
		a.onSend(a.id, to, msg)
	}
	a.e.Send(sim.NodeID(to), msg)
}
func (a serverEnv) After(d time.Duration, fn func()) { a.e.After(d, fn) }
func (a serverEnv) Disk() vfs.FS                     { return diskfs.New(a.e.Disk()) }
func (a serverEnv) Rand() subject.Rand               { return a.e.Rand() }
func (a serverEnv) Note(s string)                    { a.e.Note(s) }
func (a serverEnv) Exit(err error)                   { a.e.Exit(err) }
func (a serverEnv) Monotonic() time.Duration         { return time.Duration(a.e.Monotonic()) }

type serverHandler struct{ s *server.Server }

func (h serverHandler) Receive(from sim.NodeID, msg []byte) { h.s.Receive(uint64(from), msg) }

// clientEnv adapts a sim.Env to client.Env; Now is world time, because the
// history is the checker's omniscient record.
type clientEnv struct {
	e *sim.Env
	w *sim.World
}

func (a clientEnv) Send(to uint64, msg []byte)                    { a.e.Send(sim.NodeID(to), msg) }
func (a clientEnv) After(d time.Duration, fn func()) client.Timer { return a.e.After(d, fn) }
func (a clientEnv) Rand() client.Rand                             { return a.e.Rand() }
func (a clientEnv) Note(s string)                                 { a.e.Note(s) }
func (a clientEnv) Now() int64                                    { return int64(a.w.Now()) }

type clientHandler struct{ c *client.Client }

func (h clientHandler) Receive(from sim.NodeID, msg []byte) { h.c.Receive(uint64(from), msg) }
