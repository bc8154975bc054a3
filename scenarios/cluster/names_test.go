package cluster_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"pgregory.net/rapid"

	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
)

func TestNamesServersThenClients(t *testing.T) {
	n := cluster.Names{Servers: 5}
	for _, c := range []struct {
		id   int
		name string
	}{{0, "world"}, {1, "n1"}, {5, "n5"}, {6, "c1"}, {13, "c8"}} {
		assert.Equal(t, c.name, n.Name(c.id), "node %d", c.id)
	}
	for _, bad := range []string{"", "n", "n0", "n6", "c0", "c01", "x3", "n-1"} {
		_, ok := n.ID(bad)
		assert.False(t, ok, "%q is no node's name", bad)
	}
}

func TestNamesRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := cluster.Names{Servers: rapid.IntRange(1, 9).Draw(t, "servers")}
		id := rapid.IntRange(1, 64).Draw(t, "id")
		got, ok := n.ID(n.Name(id))
		if !ok || got != id {
			t.Fatalf("ID(Name(%d)) = %d, %v with %d servers", id, got, ok, n.Servers)
		}
	})
}
