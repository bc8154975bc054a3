package disk_test

import (
	"maps"
	"slices"
	"strings"
)

// model is the reference the property tests hold the disk to. It states the
// crash model the plain way: a Sync snapshots the file's visible contents,
// a SyncDir snapshots the visible directory, and a crash with a kept prefix
// replays pending ops onto those snapshots. Files are identified by ids, the
// model's inodes.
type model struct {
	dir, durableDir  map[string]int
	visible, durable map[int]string
	pending          []modelOp
	// versions is every contents each file ever had: whatever a crash
	// leaves must be a prefix of one of them.
	versions map[int][]string
	nextID   int
}

type modelOp struct {
	kind     byte // 'w'rite, 't'runcate, 'l'ink, 'u'nlink, 'r'ename
	id       int
	name, to string
	data     string
	size     int
}

func (op modelOp) isData() bool { return op.kind == 'w' || op.kind == 't' }

// newModel starts from a crashed disk's state: everything durable.
func newModel(state map[string]string) *model {
	m := &model{
		dir: map[string]int{}, durableDir: map[string]int{},
		visible: map[int]string{}, durable: map[int]string{},
		versions: map[int][]string{},
	}
	for _, name := range slices.Sorted(maps.Keys(state)) {
		id := m.newFile()
		m.dir[name], m.durableDir[name] = id, id
		m.visible[id], m.durable[id] = state[name], state[name]
		m.versions[id] = []string{state[name]}
	}
	return m
}

func (m *model) newFile() int {
	m.nextID++
	m.versions[m.nextID] = []string{""}
	return m.nextID
}

func (m *model) setVisible(id int, contents string) {
	m.visible[id] = contents
	m.versions[id] = append(m.versions[id], contents)
}

func (m *model) create(name string) int {
	if id, ok := m.dir[name]; ok {
		m.setVisible(id, "")
		m.pending = append(m.pending, modelOp{kind: 't', id: id})
		return id
	}
	id := m.newFile()
	m.dir[name] = id
	m.pending = append(m.pending, modelOp{kind: 'l', id: id, name: name})
	return id
}

func (m *model) write(id int, data string) {
	m.setVisible(id, m.visible[id]+data)
	m.pending = append(m.pending, modelOp{kind: 'w', id: id, data: data})
}

func (m *model) truncate(id, size int) {
	m.setVisible(id, m.visible[id][:size])
	m.pending = append(m.pending, modelOp{kind: 't', id: id, size: size})
}

func (m *model) remove(name string) {
	id := m.dir[name]
	delete(m.dir, name)
	m.pending = append(m.pending, modelOp{kind: 'u', id: id, name: name})
}

func (m *model) rename(from, to string) {
	if from == to {
		return
	}
	id := m.dir[from]
	delete(m.dir, from)
	m.dir[to] = id
	m.pending = append(m.pending, modelOp{kind: 'r', id: id, name: from, to: to})
}

// sync: the file's durable contents become its visible contents.
func (m *model) sync(id int) {
	m.durable[id] = m.visible[id]
	m.pending = slices.DeleteFunc(m.pending, func(op modelOp) bool { return op.id == id && op.isData() })
}

// syncDir: the durable directory becomes the visible one.
func (m *model) syncDir() {
	m.durableDir = maps.Clone(m.dir)
	m.pending = slices.DeleteFunc(m.pending, func(op modelOp) bool { return !op.isData() })
}

// outcomes is every state a crash may leave, keyed by its rendering so
// equal outcomes count once.
func (m *model) outcomes(keepPrefix bool) map[string]map[string]string {
	out := map[string]map[string]string{}
	add := func(state map[string]string) { out[render(state)] = state }
	add(m.afterCrash(0, -1))
	if !keepPrefix {
		return out
	}
	for k := 1; k <= len(m.pending); k++ {
		add(m.afterCrash(k, -1))
		if last := m.pending[k-1]; last.kind == 'w' {
			for tear := range len(last.data) {
				add(m.afterCrash(k, tear))
			}
		}
	}
	return out
}

// afterCrash is the state left by keeping k pending ops, the last one cut
// to tear bytes if tear >= 0.
func (m *model) afterCrash(k, tear int) map[string]string {
	dir := maps.Clone(m.durableDir)
	data := maps.Clone(m.durable)
	for i, op := range m.pending[:k] {
		switch op.kind {
		case 'w':
			if i == k-1 && tear >= 0 {
				op.data = op.data[:tear]
			}
			data[op.id] += op.data
		case 't':
			data[op.id] = data[op.id][:min(op.size, len(data[op.id]))]
		case 'l':
			dir[op.name] = op.id
		case 'u':
			delete(dir, op.name)
		case 'r':
			delete(dir, op.name)
			dir[op.to] = op.id
		}
	}
	state := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(dir)) {
		state[name] = data[dir[name]]
	}
	return state
}

// everWritten reports whether contents is a prefix of something some file
// once held: the weakest thing a crash must guarantee.
func (m *model) everWritten(contents string) bool {
	for _, id := range slices.Sorted(maps.Keys(m.versions)) {
		for _, v := range m.versions[id] {
			if strings.HasPrefix(v, contents) {
				return true
			}
		}
	}
	return false
}

func render(state map[string]string) string {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(state)) {
		b.WriteString(name + "=" + state[name] + "\x00")
	}
	return b.String()
}
