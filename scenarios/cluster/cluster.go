// Package cluster puts a Raft cluster and its clients on a simulated
// World: N servers on nodes 1..N, M clients on nodes N+1..N+M, each built
// from its disk alone at every (re)start. It holds the omniscient view a
// checker needs (every live server, the shared history) but never lets one
// node see another's memory.
package cluster

import (
	"fmt"
	"time"

	"github.com/seed4fee1fef/raftsim/linearizability/client"
	"github.com/seed4fee1fef/raftsim/linearizability/history"
	"github.com/seed4fee1fef/raftsim/linearizability/invariants"
	"github.com/seed4fee1fef/raftsim/raft"
	"github.com/seed4fee1fef/raftsim/raft/server"
	"github.com/seed4fee1fef/raftsim/raft/vfs"
	"github.com/seed4fee1fef/raftsim/sim"
)

// Config describes a cluster. Zero fields take defaults.
type Config struct {
	Servers  int
	Clients  int
	Workload client.Workload
	Server   server.Config // tuning shared by every server (ID and Peers are set per node)
	Client   client.Config // timeouts shared by every client
	// OnSend, if set, sees every message a server sends (after the host
	// persisted what it depends on), for tests and traffic metrics. It must
	// not keep msg.
	OnSend func(from, to uint64, msg []byte)

	_ struct{}
}

// Validate names the first nonsensical value.
func (c Config) Validate() error {
	if c.Servers < 1 {
		return fmt.Errorf("cluster: servers = %d, want at least 1", c.Servers)
	}
	if c.Clients < 0 {
		return fmt.Errorf("cluster: clients = %d, want 0 or more", c.Clients)
	}
	if c.Clients > 0 {
		if err := c.Workload.Validate(); err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
	}
	return nil
}

// Cluster is a running cluster on a World.
type Cluster struct {
	W       *sim.World
	cfg     Config
	servers []*server.Server // by node id; nil while down
	clients []*client.Client // by client index
	History *history.History
}

// New starts the servers and clients on w, which must have at least
// Servers+Clients nodes. Clients are idle until StartLoad.
func New(w *sim.World, cfg Config) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if w.Nodes() < cfg.Servers+cfg.Clients {
		return nil, fmt.Errorf("cluster: world has %d nodes, need %d servers + %d clients", w.Nodes(), cfg.Servers, cfg.Clients)
	}
	c := &Cluster{W: w, cfg: cfg, servers: make([]*server.Server, cfg.Servers+1), History: history.New()}
	w.Trace().SetDescriber(Wire{})
	peers := make([]uint64, cfg.Servers)
	for i := range peers {
		peers[i] = uint64(i + 1)
	}
	for i := 1; i <= cfg.Servers; i++ {
		id := i
		scfg := cfg.Server
		scfg.ID, scfg.Peers = uint64(id), peers
		err := w.Start(sim.NodeID(id), func(env *sim.Env) (sim.Handler, error) {
			c.servers[id] = nil
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
	for j := 0; j < cfg.Clients; j++ {
		id := cfg.Servers + 1 + j
		ccfg := cfg.Client
		ccfg.ID, ccfg.Servers, ccfg.Workload = uint64(id), peers, cfg.Workload
		err := w.Start(sim.NodeID(id), func(env *sim.Env) (sim.Handler, error) {
			cl, err := client.New(clientEnv{env, w}, ccfg, c.History)
			if err != nil {
				return nil, err
			}
			c.clients = append(c.clients, cl)
			return clientHandler{cl}, nil
		})
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

// StartLoad makes every client issue operations; StopLoad pauses them (a
// quiet period).
func (c *Cluster) StartLoad() { c.setLoad(true) }

// StopLoad stops clients from issuing new operations.
func (c *Cluster) StopLoad() { c.setLoad(false) }

func (c *Cluster) setLoad(on bool) {
	for _, cl := range c.clients {
		cl.SetActive(on)
	}
}

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
			if st := s.Status(); st.Role == raft.Leader && st.Term >= term {
				id, term = i, st.Term
			}
		}
	}
	return id, term
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
func (a serverEnv) Disk() vfs.FS                     { return a.e.Disk() }
func (a serverEnv) Rand() raft.Rand                  { return a.e.Rand() }
func (a serverEnv) Note(s string)                    { a.e.Note(s) }
func (a serverEnv) Exit(err error)                   { a.e.Exit(err) }

type serverHandler struct{ s *server.Server }

func (h serverHandler) Receive(from sim.NodeID, msg []byte) { h.s.Receive(uint64(from), msg) }

// clientEnv adapts a sim.Env to client.Env; Now is world time, because the
// history is the checker's omniscient record.
type clientEnv struct {
	e *sim.Env
	w *sim.World
}

func (a clientEnv) Send(to uint64, msg []byte)       { a.e.Send(sim.NodeID(to), msg) }
func (a clientEnv) After(d time.Duration, fn func()) { a.e.After(d, fn) }
func (a clientEnv) Rand() client.Rand                { return a.e.Rand() }
func (a clientEnv) Note(s string)                    { a.e.Note(s) }
func (a clientEnv) Now() int64                       { return int64(a.w.Now()) }

type clientHandler struct{ c *client.Client }

func (h clientHandler) Receive(from sim.NodeID, msg []byte) { h.c.Receive(uint64(from), msg) }
