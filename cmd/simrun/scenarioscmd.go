package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/scenarios"
)

func newScenariosCmd(stdout io.Writer) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "scenarios",
		Short: "List the built-in scenarios with their descriptions",
		Args:  cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			out := &summary{}
			for _, e := range scenarios.List() {
				line := e.Description
				if len(e.Catches) > 0 {
					line += " [catches: " + plant.Of(e.Catches...).String() + "]"
				}
				out.add(e.Name, line)
			}
			return out.print(stdout, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}
