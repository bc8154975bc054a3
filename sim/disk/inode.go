package disk

import "slices"

// inode is one file's contents, independent of the names that point at it,
// so a renamed or removed file keeps its data and its open handles.
//
// Invariant: visible == durable with every pending data op of this inode
// applied in order. Both slices are owned by the inode and never handed out.
type inode struct {
	visible []byte
	durable []byte
	// pending counts this inode's ops in Disk.pending, so Sync of a clean
	// file skips the scan.
	pending int
}

// opKind is what a pending operation does. Data ops (write, truncate)
// become durable with File.Sync, name ops (link, unlink, rename) with
// FS.SyncDir.
type opKind uint8

const (
	opWrite opKind = iota + 1
	opTruncate
	opLink
	opUnlink
	opRename
)

func (k opKind) isData() bool { return k == opWrite || k == opTruncate }

// pendingOp is one mutation not yet durable. Rename is one op, not a link
// plus an unlink, because vfs promises it is atomic: a crash shows either
// the old name or the new one, never both or neither.
type pendingOp struct {
	seq  uint64 // order of the mutation: a slow sync covers only ops before it
	kind opKind
	ino  *inode
	name string // link, unlink: the name; rename: the old name
	to   string // rename: the new name
	data []byte // write: a private copy of the appended bytes
	size int64  // truncate: the new size
}

// applyData applies a data op to contents and returns the result. The
// returned slice may share contents' backing array.
func applyData(contents []byte, op pendingOp) []byte {
	switch op.kind {
	case opWrite:
		return append(contents, op.data...)
	case opTruncate:
		if op.size < int64(len(contents)) {
			return contents[:op.size]
		}
	}
	return contents
}

// applyName applies a name op to a directory.
func applyName(dir map[string]*inode, op pendingOp) {
	switch op.kind {
	case opLink:
		dir[op.name] = op.ino
	case opUnlink:
		delete(dir, op.name)
	case opRename:
		delete(dir, op.name)
		dir[op.to] = op.ino
	}
}

// replay recomputes an inode's visible contents from its durable ones and
// its pending ops; fault hooks that change durable data use it to keep the
// inode invariant.
func (ino *inode) replay(pending []pendingOp) {
	v := slices.Clone(ino.durable)
	for _, op := range pending {
		if op.ino == ino && op.kind.isData() {
			v = applyData(v, op)
		}
	}
	ino.visible = v
}
