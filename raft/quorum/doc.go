// Package quorum is the majority arithmetic of Raft: given which voters
// acknowledged which log index, the highest index a quorum holds
// (MajorityConfig.CommittedIndex), and given who voted how, whether an
// election is won, lost or still open (MajorityConfig.VoteResult).
//
// The voter set is data, not a constant, so configurations can change at
// run time; the conventions for an empty configuration (it commits
// everything and wins every vote) are the ones a joint configuration of two
// majorities needs, so one can be built from two MajorityConfigs later
// without changing this file.
//
// It never looks at terms, messages or time, and never iterates a map: IDs
// are kept sorted so results and printed forms are the same on every run.
package quorum
