package sim

import (
	"fmt"
	"math/bits"
)

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
	msg      message // for deliveries and departures
}

type eventKind uint8

const (
	evCall    eventKind = iota // a world callback (fault schedule, harness)
	evTimer                    // a process timer
	evDeliver                  // a network delivery
	evDepart                   // a message leaving a process after its disk time
)

// A slot's key packs the insertion sequence number above the arena index:
// 40 bits of sequence (10^12 events in one world) and 24 of index (16M
// events pending at once).
const (
	idxBits = 24
	idxMask = 1<<idxBits - 1
	maxSeq  = 1<<(64-idxBits) - 1
)

// slot is a queue entry: 16 bytes, no pointers, so sifting costs no GC
// write barriers and four siblings share a cache line, and it carries its
// sort key so comparisons never leave the heap array.
type slot struct {
	at  Time
	key uint64 // seq<<idxBits | arena index; seq is the tie-breaker that makes equal times deterministic
}

func (s slot) idx() uint32 { return uint32(s.key & idxMask) }

// lt is 1 if a sorts before b, else 0: (at, key) compared as one 128-bit
// unsigned number (virtual time is never negative), without a branch.
func lt(a, b slot) int {
	_, borrow := bits.Sub64(a.key, b.key, 0)
	_, borrow = bits.Sub64(uint64(a.at), uint64(b.at), borrow)
	return int(borrow)
}

// queue is a 4-ary min-heap of slots ordered by (at, seq). Four children
// per node halve the depth of a binary heap, and picking the least of four
// is done with arithmetic rather than unpredictable branches.
type queue struct{ h []slot }

func (q *queue) len() int { return len(q.h) }

func (q *queue) push(at Time, seq uint64, idx uint32) {
	if seq > maxSeq || idx > idxMask {
		panic(fmt.Sprintf("sim: event queue capacity exceeded (sequence %d, arena index %d)", seq, idx))
	}
	s := slot{at: at, key: seq<<idxBits | uint64(idx)}
	q.h = append(q.h, s)
	h := q.h
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) >> 2
		if lt(s, h[p]) == 0 {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = s
}

// pop removes the least slot. It uses Floyd's bottom-up sift: the hole left
// at the root walks down to a leaf along the least children, then the last
// slot (which came from the bottom and usually belongs there) moves up
// into place. That is one comparison per level fewer than the classic
// sift-down, and no early-exit branch to mispredict.
func (q *queue) pop() slot {
	h := q.h
	n := len(h) - 1
	top, last := h[0], h[n]
	h = h[:n]
	q.h = h
	if n == 0 {
		return top
	}
	i := 0
	for {
		c := 4*i + 1
		if c+3 >= n {
			break
		}
		m01 := c + lt(h[c+1], h[c])
		m23 := c + 2 + lt(h[c+3], h[c+2])
		m := m01 ^ ((m01 ^ m23) & -lt(h[m23], h[m01]))
		h[i] = h[m]
		i = m
	}
	if c := 4*i + 1; c < n { // a last, partial set of children
		m := c
		for j := c + 1; j < n; j++ {
			if lt(h[j], h[m]) != 0 {
				m = j
			}
		}
		h[i] = h[m]
		i = m
	}
	for i > 0 {
		p := (i - 1) >> 2
		if lt(last, h[p]) == 0 {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = last
	return top
}

func (q *queue) peek() slot { return q.h[0] }
