package disk

import "time"

// OpKind names a disk operation in a trace.
type OpKind uint8

const (
	OpCreate OpKind = iota + 1
	OpOpen
	OpWrite
	OpTruncate
	OpSync
	OpSyncDir
	OpRename
	OpRemove
	OpCrash
)

var opKindNames = [...]string{
	OpCreate:   "create",
	OpOpen:     "open",
	OpWrite:    "write",
	OpTruncate: "truncate",
	OpSync:     "sync",
	OpSyncDir:  "syncdir",
	OpRename:   "rename",
	OpRemove:   "remove",
	OpCrash:    "crash",
}

func (k OpKind) String() string {
	if int(k) < len(opKindNames) && opKindNames[k] != "" {
		return opKindNames[k]
	}
	return "unknown"
}

// Op is one operation as the observer sees it, after it took effect (or
// failed). Size depends on Kind:
//
//	create, remove, rename: 0
//	open:     the file's size
//	write:    bytes written
//	truncate: the new size
//	sync:     the file's durable size afterwards
//	syncdir:  name operations made durable
//	crash:    pending operations kept (0 unless keepPrefix)
type Op struct {
	Kind OpKind
	// Name is the file the operation is on: for a write, truncate or sync,
	// the name it was opened under. Empty for syncdir and crash.
	Name string
	// To is the new name of a rename.
	To   string
	Size int64
	// Err is the error the caller got, nil on success.
	Err error
	// Latency is how long a sync or syncdir took the device (slow-fsync
	// faults; 0 otherwise).
	Latency time.Duration

	_ struct{} // callers name the fields, so Op can grow
}

// Stats counts what a disk has done since New. Crashes do not reset it.
type Stats struct {
	Creates, Opens, Renames, Removes int64
	Writes, BytesWritten             int64
	Truncates                        int64
	Syncs, SyncDirs                  int64
	// FailedSyncs counts Sync and SyncDir calls failed by SetFailSync.
	FailedSyncs int64
	// NoSpace counts writes refused by SetCapacity.
	NoSpace int64
	Crashes int64
	// OpsKept and OpsLost count pending operations a crash applied or
	// dropped; TornWrites counts kept writes that were cut short.
	OpsKept, OpsLost, TornWrites int64
}

// SetObserver installs f to be called after every mutating operation, sync
// and crash; nil removes it. f must not call back into the disk.
func (d *Disk) SetObserver(f func(Op)) { d.observer = f }

func (d *Disk) observe(op Op) {
	if d.observer != nil {
		d.observer(op)
	}
}

// Stats returns the counters so far.
func (d *Disk) Stats() Stats { return d.stats }
