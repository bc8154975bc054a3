package reports

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/seed4fee1fef/raftsim/faults"
)

// Every fault kind has a colour on the page: a new kind must be sorted
// into one, or it would be drawn as "other".
func TestEveryFaultKindHasAClass(t *testing.T) {
	for _, k := range faults.Kinds() {
		assert.NotEqual(t, "other", faultClass(k), "fault kind %s", k)
	}
}
