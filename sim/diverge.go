package sim

// FirstDivergence finds the first event at which two kept traces differ:
// its sequence number and each trace's event there, formatted ("end of
// trace" where one is shorter). ok is false if neither trace was kept or
// every kept event is the same (then the traces differ only in message
// bytes, which the hash covers and events do not show).
func FirstDivergence(a, b *Trace) (seq uint64, ea, eb string, ok bool) {
	if !a.Kept() || !b.Kept() {
		return 0, "", "", false
	}
	var bs []Event
	b.Each(func(_ uint64, e *Event) bool {
		bs = append(bs, *e)
		return true
	})
	found := false
	var n uint64
	a.Each(func(i uint64, e *Event) bool {
		n = i + 1
		if i >= uint64(len(bs)) || *e != bs[i] {
			seq, ea, found = i, a.Format(e), true
			if i < uint64(len(bs)) {
				eb = b.Format(&bs[i])
			} else {
				eb = "end of trace"
			}
			return false
		}
		return true
	})
	if found {
		return seq, ea, eb, true
	}
	if n < uint64(len(bs)) {
		return n, "end of trace", b.Format(&bs[n]), true
	}
	return 0, "", "", false
}
