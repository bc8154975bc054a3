package tracker

import "fmt"

// inflight is one MsgApp sent and not yet acknowledged.
type inflight struct {
	index uint64 // last entry index the message carried
	bytes uint64 // payload size of the message
}

// Inflights is a bounded FIFO window of appends sent to one follower and
// not yet acknowledged. It is what keeps a leader from flooding a slow or
// lagging follower: once it is Full, no further entries are sent until an
// acknowledgement frees a slot (or a heartbeat response frees the oldest, in
// case acknowledgements were lost).
type Inflights struct {
	// buffer is a ring; start is the slot of the oldest inflight and count
	// how many there are. Invariant: 0 <= count <= size, and the indexes
	// from oldest to newest are strictly increasing.
	buffer []inflight
	start  int
	count  int
	size   int    // capacity in messages (MaxInflightMsgs); > 0
	bytes  uint64 // sum of bytes of the inflights in the window
}

// NewInflights returns an empty window of capacity size (at least 1).
func NewInflights(size int) *Inflights {
	if size < 1 {
		size = 1
	}
	return &Inflights{size: size}
}

// Clone returns an independent copy of the window.
func (in *Inflights) Clone() *Inflights {
	c := *in
	c.buffer = append([]inflight(nil), in.buffer...)
	return &c
}

// Add records a message carrying entries up to index, of the given size.
// Callers must check Full first; adding to a full window, or an index not
// above the newest inflight, is a bug in the caller and panics.
func (in *Inflights) Add(index, bytes uint64) {
	if in.Full() {
		panic(fmt.Sprintf("tracker: Inflights.Add(%d) on a full window of %d", index, in.size))
	}
	if in.count > 0 {
		if last := in.buffer[(in.start+in.count-1)%len(in.buffer)].index; index <= last {
			panic(fmt.Sprintf("tracker: Inflights.Add(%d) not above newest inflight %d", index, last))
		}
	}
	if in.count == len(in.buffer) {
		in.grow()
	}
	in.buffer[(in.start+in.count)%len(in.buffer)] = inflight{index: index, bytes: bytes}
	in.count++
	in.bytes += bytes
}

// grow doubles the ring (up to size), unrolling it so start is 0. The
// buffer grows lazily because most followers never need the full window.
func (in *Inflights) grow() {
	n := max(2*len(in.buffer), 4)
	n = min(n, in.size)
	nb := make([]inflight, n)
	for i := 0; i < in.count; i++ {
		nb[i] = in.buffer[(in.start+i)%len(in.buffer)]
	}
	in.buffer, in.start = nb, 0
}

// FreeLE releases every inflight whose index is <= to: the follower has
// acknowledged the log up to to.
func (in *Inflights) FreeLE(to uint64) {
	for in.count > 0 {
		f := in.buffer[in.start]
		if f.index > to {
			break
		}
		in.bytes -= f.bytes
		in.start = (in.start + 1) % len(in.buffer)
		in.count--
	}
	if in.count == 0 {
		in.start = 0
	}
}

// FreeFirstOne releases the oldest inflight, if any.
func (in *Inflights) FreeFirstOne() {
	if in.count == 0 {
		return
	}
	in.FreeLE(in.buffer[in.start].index)
}

// Full reports whether no more messages may be sent.
func (in *Inflights) Full() bool { return in.count >= in.size }

// Count is the number of messages in flight.
func (in *Inflights) Count() int { return in.count }

// Bytes is the payload size of the messages in flight.
func (in *Inflights) Bytes() uint64 { return in.bytes }

// Cap is the window size.
func (in *Inflights) Cap() int { return in.size }

// Reset empties the window.
func (in *Inflights) Reset() {
	in.start, in.count, in.bytes = 0, 0, 0
}
