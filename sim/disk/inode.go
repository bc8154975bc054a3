package disk

import (
	"bytes"
	"slices"
)

// inode is one file's contents, independent of the names that point at it,
// so a renamed or removed file keeps its data and its open handles.
//
// Invariant: visible == durable with every pending data op of this inode
// applied in order. Both slices are owned by the inode and never handed out.
//
// Memory: a file is usually appended to and synced, so durable is usually
// a prefix of visible, and they share one backing array (shared) instead
// of holding two copies; a pending write's data is a view of visible's
// bytes, not a copy. What keeps that sound: bytes below len(visible) are
// never written in place (appends write beyond it; a truncation clips
// visible so the next append moves to a new array; crash and replay build
// new arrays), and durable is written in place only after unshare.
type inode struct {
	visible []byte
	durable []byte
	// shared: durable's backing array may also back visible or pending
	// writes' data, so durable may grow in place only over bytes that are
	// already the ones it appends (see appendDurable).
	shared bool
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
	data []byte // write: the appended bytes (a view of visible; never written through)
	size int64  // truncate: the new size
}

// applyDurable applies a data op to the inode's durable contents.
func (ino *inode) applyDurable(op pendingOp) {
	switch op.kind {
	case opWrite:
		ino.appendDurable(op.data)
	case opTruncate:
		if op.size < int64(len(ino.durable)) {
			ino.durable = ino.durable[:op.size]
		}
	}
}

// appendDurable appends p to durable. When durable shares its array and p
// is the very bytes that follow it there (a synced append: p is a view of
// visible), durable just grows over them; otherwise a shared durable is
// first copied, so nothing else's bytes are overwritten.
func (ino *inode) appendDurable(p []byte) {
	d := ino.durable
	if len(p) == 0 {
		return
	}
	if ino.shared {
		n := len(d)
		if cap(d)-n >= len(p) && &d[:n+1][n] == &p[0] {
			ino.durable = d[:n+len(p)]
			return
		}
		// Visible grew into a new array since durable was last shared with
		// it: if p follows a copy of durable there, share that array.
		if v := ino.visible; n+len(p) <= len(v) && &v[n] == &p[0] && bytes.Equal(v[:n], d) {
			ino.durable = v[:n+len(p)]
			return
		}
		ino.unshare()
		d = ino.durable
	}
	ino.durable = append(d, p...)
}

// unshare gives durable an array of its own, before it is written in place.
func (ino *inode) unshare() {
	if ino.shared {
		d := ino.durable
		ino.durable = append(make([]byte, 0, len(d)+len(d)/4+64), d...)
		ino.shared = false
	}
}

// settle shares visible's array with durable once nothing of the inode is
// pending, when the two are equal: the separate durable copy is dropped.
func (ino *inode) settle() {
	if ino.pending == 0 {
		ino.durable = ino.visible
		ino.shared = true
	}
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
