package cluster

import (
	"strconv"
	"strings"
)

// Names are the names a run's nodes go by in every report, trace line and
// message a person reads: servers n1..nN, clients c1..cM. Node ids stay
// what the world and the wire use (clients are nodes N+1..N+M); only what
// is printed changes, so one client never has two names.
type Names struct {
	Servers int
}

// Name is node id's name: "n3" for a server, "c2" for the second client,
// "world" for 0 (events of the world itself).
func (n Names) Name(id int) string {
	switch {
	case id == 0:
		return "world"
	case id <= n.Servers:
		return "n" + strconv.Itoa(id)
	}
	return "c" + strconv.Itoa(id-n.Servers)
}

// Client is the name of the client with node id id (history's ClientID).
func (n Names) Client(id uint64) string { return n.Name(int(id)) }

// ID is the inverse of Name: the node id of "n3" or "c2".
func (n Names) ID(name string) (int, bool) {
	if len(name) < 2 {
		return 0, false
	}
	i, err := strconv.Atoi(name[1:])
	if err != nil || i < 1 || strings.HasPrefix(name[1:], "0") {
		return 0, false
	}
	switch name[0] {
	case 'n':
		return i, i <= n.Servers
	case 'c':
		return n.Servers + i, true
	}
	return 0, false
}

// Names are the names of c's nodes.
func (c *Cluster) Names() Names { return Names{Servers: c.cfg.Servers} }
