package reports

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/seed4fee1fef/raftsim/faults"
)

// Every fault kind has a colour on the page: its family (faults' kinds
// table names one per kind) has a colour in page.css, or the kind would
// be drawn without one.
func TestEveryFaultKindHasAClass(t *testing.T) {
	for _, k := range faults.Kinds() {
		cls := faultClass(k)
		assert.NotEqual(t, "other", cls, "fault kind %s", k)
		assert.Contains(t, pageCSS, "\n."+cls+" { --c:", "fault kind %s: family %s has no colour in page.css", k, cls)
	}
	assert.Contains(t, pageCSS, "\n.other { --c:", "an unknown kind's colour")
}
