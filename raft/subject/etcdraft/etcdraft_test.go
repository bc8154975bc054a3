package etcdraft_test

import (
	"testing"

	"github.com/seed4fee1fef/raftsim/raft/subject/etcdraft"
	"github.com/seed4fee1fef/raftsim/raft/subject/subjecttest"
)

// TestConformance: go.etcd.io/raft/v3 behind the adapter passes the
// subject suite.
func TestConformance(t *testing.T) { subjecttest.Run(t, etcdraft.Subject()) }
