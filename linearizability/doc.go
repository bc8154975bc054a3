// Package linearizability checks the truth of a run: the client workload
// and its history recorder (an operation with an unknown outcome may have
// happened at any time after its call), a porcupine model of the KV store
// partitioned by key, and the online checker of Raft's safety invariants.
//
// It never treats an unknown outcome as a failure, and never reports a
// checker timeout as a pass.
package linearizability
