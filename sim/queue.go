package sim

// event is one scheduled callback, kept in the World's arena. Arena slots
// are recycled; gen changes at each reuse so a stale Timer cannot cancel a
// stranger's event.
type event struct {
	gen      uint64
	owner    *proc  // nil for world events; owned events die with the process incarnation
	inc      uint32 // owner's incarnation when scheduled
	canceled bool
	kind     eventKind
	fn       func()
	msg      *message // for deliveries and departures
}

type eventKind uint8

const (
	evCall    eventKind = iota // a world callback (fault schedule, harness)
	evTimer                    // a process timer
	evDeliver                  // a network delivery
	evDepart                   // a message leaving a process after its disk time
)

// slot is a queue entry. It holds no pointers, so sifting it costs no GC
// write barriers, and it carries its sort key so comparisons never leave
// the heap array.
type slot struct {
	at  Time
	seq uint64 // insertion order: the tie-breaker that makes equal times deterministic
	idx uint32 // arena index of the event
}

func (a slot) before(b slot) bool { return a.at < b.at || (a.at == b.at && a.seq < b.seq) }

// queue is a binary min-heap of slots ordered by (at, seq).
type queue struct{ h []slot }

func (q *queue) len() int { return len(q.h) }

func (q *queue) push(s slot) {
	q.h = append(q.h, s)
	h := q.h
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !s.before(h[p]) {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = s
}

func (q *queue) pop() slot {
	h := q.h
	n := len(h) - 1
	top, last := h[0], h[n]
	q.h = h[:n]
	h = h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h[r].before(h[l]) {
			m = r
		}
		if !h[m].before(last) {
			break
		}
		h[i] = h[m]
		i = m
	}
	if n > 0 {
		h[i] = last
	}
	return top
}

func (q *queue) peek() slot { return q.h[0] }
