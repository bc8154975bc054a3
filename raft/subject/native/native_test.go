package native_test

import (
	"testing"

	"github.com/seed4fee1fef/raftsim/raft/subject/native"
	"github.com/seed4fee1fef/raftsim/raft/subject/subjecttest"
)

// TestConformance: raftsim's own Raft passes the subject suite.
func TestConformance(t *testing.T) { subjecttest.Run(t, native.Subject()) }
