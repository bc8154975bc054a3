// Package client is the simulated KV client: it draws operations from a
// workload, finds the leader by following redirects, retries on timeouts
// with the same sequence number (so a retried write applies once), gives
// up after a deadline, and records every call and return in a History.
//
// It runs under the simulator: no clock but the one it is handed, no
// goroutines, no global rand.
package client

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/seed4fee1fef/raftsim/linearizability/history"
	"github.com/seed4fee1fef/raftsim/raft/kv"
)

// Env is what a client needs from the world.
type Env interface {
	// Send delivers msg to node to; the env copies it, so the caller may
	// reuse msg.
	Send(to uint64, msg []byte)
	// After calls fn after d, unless the returned timer is stopped first.
	After(d time.Duration, fn func()) Timer
	Rand() Rand
	Note(s string)
	// Now is the world's time, used to stamp the history (the checker's
	// omniscient clock, not the client's local one).
	Now() int64
}

// Timer is a pending After. A client stops the timers an answer made
// moot (the attempt's timeout, the operation's give-up), so they cost
// the simulation no event: they were a third of a default run's timers.
type Timer interface {
	Stop() bool
}

// Rand is the client's random stream.
type Rand interface {
	IntN(n int) int
}

// Workload says what operations a client issues and how often.
type Workload struct {
	Keys int // keys are k0..k(Keys-1)
	// Mix weights of each operation kind.
	Put, Get, Append, CAS int
	// Think is the mean pause between operations (drawn uniform in [0, 2*Think]).
	Think time.Duration
	// ValueMin and ValueMax bound the bytes of each value written (a put's,
	// a cas's, an append's with its ";" separator), padded after the
	// unique "cID.SEQ"; both zero: that unique part alone. The size of the
	// value at each sequence number is a function of it (a range spreads
	// them), so a cas can name an earlier value without storing it, and
	// no random draw moves.
	ValueMin, ValueMax int

	_ struct{}
}

// MaxValueSize bounds Workload.ValueMax: appends grow a value by it each
// time, and the checker copies values.
const MaxValueSize = 64 << 10

// DefaultWorkload is a balanced mix over a few keys.
func DefaultWorkload() Workload {
	return Workload{Keys: 4, Put: 3, Get: 4, Append: 2, CAS: 1, Think: 20 * time.Millisecond}
}

// Validate names the first nonsensical field.
func (w Workload) Validate() error {
	switch {
	case w.Keys < 1:
		return fmt.Errorf("workload: keys = %d, want at least 1", w.Keys)
	case w.Put < 0 || w.Get < 0 || w.Append < 0 || w.CAS < 0:
		return fmt.Errorf("workload: negative mix weight (put %d, get %d, append %d, cas %d)", w.Put, w.Get, w.Append, w.CAS)
	case w.Put+w.Get+w.Append+w.CAS == 0:
		return fmt.Errorf("workload: mix weights are all zero")
	case w.Think < 0:
		return fmt.Errorf("workload: think time %v is negative", w.Think)
	case w.ValueMin < 0 || w.ValueMax < w.ValueMin || (w.ValueMax > 0 && w.ValueMin < 1):
		return fmt.Errorf("workload: value size %d..%d, want 1 <= min <= max (or both 0)", w.ValueMin, w.ValueMax)
	case w.ValueMax > MaxValueSize:
		return fmt.Errorf("workload: value size %d above the limit of %d bytes", w.ValueMax, MaxValueSize)
	}
	return nil
}

// Config is one client's setup.
type Config struct {
	ID uint64
	// Name is what the client's written values start with ("c2" writes
	// "c2.17"): the name reports give it, so a value says who wrote it.
	// Default "c<ID>".
	Name     string
	Servers  []uint64
	Workload Workload
	// AttemptTimeout is how long to wait for one server's answer before
	// trying another (default 100ms).
	AttemptTimeout time.Duration
	// GiveUpAfter is how long an operation may stay unanswered before the
	// client abandons it as unknown (default 2s).
	GiveUpAfter time.Duration

	_ struct{}
}

// Client is one running client.
type Client struct {
	cfg     Config
	env     Env
	hist    *history.History
	active  bool
	seq     uint64
	busy    bool   // an operation is open
	target  uint64 // server we believe leads
	attempt uint64 // bumped per request sent; stale timeouts compare it
	// hops counts redirects followed in a row for this operation: servers
	// with stale hints (a removed one, a deposed one) can send a client
	// back and forth forever without a pause.
	hops   int
	called int64
	cmd    kv.Command
	stats  Stats
	wire   []byte // reused request buffer (Env.Send copies)
	// keys are the workload's key names, issueFn is c.issue as a func
	// value: both made once rather than per operation.
	keys    []string
	issueFn func()
	// attemptTimer and giveUpTimer are the open operation's timeout for
	// its current attempt and its give-up deadline (nil: none pending).
	attemptTimer, giveUpTimer Timer
}

// Stats counts a client's work.
type Stats struct {
	Issued, Completed, GaveUp, Retries, Redirects uint64
}

// New builds a client that records into hist. It issues nothing until Start.
func New(env Env, cfg Config, hist *history.History) (*Client, error) {
	if cfg.AttemptTimeout == 0 {
		cfg.AttemptTimeout = 100 * time.Millisecond
	}
	if cfg.GiveUpAfter == 0 {
		cfg.GiveUpAfter = 2 * time.Second
	}
	if len(cfg.Servers) == 0 {
		return nil, fmt.Errorf("client %d: no servers", cfg.ID)
	}
	if cfg.Name == "" {
		cfg.Name = fmt.Sprintf("c%d", cfg.ID)
	}
	if err := cfg.Workload.Validate(); err != nil {
		return nil, fmt.Errorf("client %d: %w", cfg.ID, err)
	}
	c := &Client{cfg: cfg, env: env, hist: hist}
	c.issueFn = c.issue
	for k := range cfg.Workload.Keys {
		c.keys = append(c.keys, "k"+strconv.Itoa(k))
	}
	c.target = cfg.Servers[env.Rand().IntN(len(cfg.Servers))]
	return c, nil
}

// SetActive starts or stops issuing new operations (a quiet period stops
// the load; an open operation still finishes).
func (c *Client) SetActive(on bool) {
	if on == c.active {
		return
	}
	c.active = on
	if on && !c.busy {
		c.scheduleNext()
	}
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats { return c.stats }

// SetServers binds the client to servers (not empty): it sends only to
// them, and follows a leader hint only to one of them. An operation in
// flight carries on; its next attempt goes to a server of the new list.
func (c *Client) SetServers(servers []uint64) {
	if len(servers) == 0 {
		return
	}
	c.cfg.Servers = append([]uint64(nil), servers...)
	if !c.knows(c.target) {
		c.target = c.cfg.Servers[0]
	}
}

// Servers returns the servers the client sends to.
func (c *Client) Servers() []uint64 { return append([]uint64(nil), c.cfg.Servers...) }

// knows reports whether id is one of the client's servers.
func (c *Client) knows(id uint64) bool {
	for _, s := range c.cfg.Servers {
		if s == id {
			return true
		}
	}
	return false
}

func (c *Client) scheduleNext() {
	think := time.Duration(0)
	if c.cfg.Workload.Think > 0 {
		think = time.Duration(c.env.Rand().IntN(int(2*c.cfg.Workload.Think) + 1))
	}
	c.env.After(think, c.issueFn)
}

func (c *Client) issue() {
	if !c.active || c.busy {
		return
	}
	c.seq++
	c.hops = 0
	c.cmd = c.draw()
	c.busy = true
	c.called = c.env.Now()
	c.stats.Issued++
	c.hist.Call(c.cfg.ID, c.seq, c.cmd, c.called)
	seq := c.seq
	c.giveUpTimer = c.env.After(c.cfg.GiveUpAfter, func() { c.giveUp(seq) })
	c.send()
}

// finish ends the open operation: its pending timers can no longer do
// anything, so they are stopped rather than left to fire.
func (c *Client) finish() {
	c.busy = false
	c.stopAttempt()
	if c.giveUpTimer != nil {
		c.giveUpTimer.Stop()
		c.giveUpTimer = nil
	}
}

func (c *Client) stopAttempt() {
	if c.attemptTimer != nil {
		c.attemptTimer.Stop()
		c.attemptTimer = nil
	}
}

// draw picks the next operation. Written values are unique per client and
// sequence number, so the checker can tell every write apart.
func (c *Client) draw() kv.Command {
	w, r := c.cfg.Workload, c.env.Rand()
	cmd := kv.Command{ClientID: c.cfg.ID, Seq: c.seq, Key: c.keys[r.IntN(w.Keys)]}
	switch n := r.IntN(w.Put + w.Get + w.Append + w.CAS); {
	case n < w.Put:
		cmd.Op, cmd.Value = kv.OpPut, c.value(c.seq, 0)
	case n < w.Put+w.Get:
		cmd.Op = kv.OpGet
	case n < w.Put+w.Get+w.Append:
		cmd.Op, cmd.Value = kv.OpAppend, c.value(c.seq, 1)+";"
	default:
		// Expect one of this client's recent writes, so a CAS sometimes succeeds.
		cmd.Op, cmd.Value = kv.OpCAS, c.value(c.seq, 0)
		if c.seq > 1 {
			cmd.Expected = c.value(c.seq-1-uint64(r.IntN(int(min(c.seq-1, 3)))), 0)
		}
	}
	return cmd
}

// value is what the client writes at seq: "NAME.SEQ", unique per client
// and sequence number, padded to the workload's size for seq, less
// reserve bytes (an append's separator).
func (c *Client) value(seq uint64, reserve int) string {
	v := c.cfg.Name + "." + strconv.FormatUint(seq, 10)
	w := c.cfg.Workload
	if w.ValueMax == 0 {
		return v
	}
	size := w.ValueMin
	if span := w.ValueMax - w.ValueMin; span > 0 {
		size += int(spread(c.cfg.ID<<32^seq) % uint64(span+1))
	}
	if pad := size - reserve - len(v); pad > 0 {
		// "x" is no digit, so the padded values stay unique.
		v += strings.Repeat("x", pad)
	}
	return v
}

// spread is splitmix64's finalizer: sizes spread over the range without
// drawing from the client's stream.
func spread(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (c *Client) send() {
	c.attempt++
	c.hist.Attempt(c.cfg.ID)
	req := kv.Request{ClientID: c.cfg.ID, Seq: c.seq, Cmd: c.cmd}
	c.wire = req.Append(append(c.wire[:0], kv.TagRequest))
	c.env.Send(c.target, c.wire)
	attempt, seq := c.attempt, c.seq
	c.stopAttempt()
	c.attemptTimer = c.env.After(c.cfg.AttemptTimeout, func() {
		if c.busy && c.seq == seq && c.attempt == attempt {
			c.stats.Retries++
			c.target = c.next(c.target)
			c.send()
		}
	})
}

// next is the server after id in the list, so retries walk the cluster.
func (c *Client) next(id uint64) uint64 {
	for i, s := range c.cfg.Servers {
		if s == id {
			return c.cfg.Servers[(i+1)%len(c.cfg.Servers)]
		}
	}
	return c.cfg.Servers[0]
}

func (c *Client) giveUp(seq uint64) {
	if !c.busy || c.seq != seq {
		return
	}
	c.giveUpTimer = nil // firing now
	c.finish()
	c.stats.GaveUp++
	c.hist.GiveUp(c.cfg.ID)
	c.env.Note(fmt.Sprintf("gave up on #%d after %v", seq, c.cfg.GiveUpAfter))
	if c.active {
		c.scheduleNext()
	}
}

// Receive handles a server's response.
func (c *Client) Receive(from uint64, msg []byte) {
	tag, body, err := kv.SplitTag(msg)
	if err != nil || tag != kv.TagResponse {
		c.env.Note(fmt.Sprintf("unexpected message from %d", from))
		return
	}
	resp, err := kv.DecodeResponse(body)
	if err != nil {
		c.env.Note(fmt.Sprintf("bad response from %d: %v", from, err))
		return
	}
	if !c.busy || resp.Seq != c.seq || resp.ClientID != c.cfg.ID {
		return // an answer to an attempt we already gave up on or finished
	}
	switch {
	case resp.Status == kv.StatusOK && resp.Result.Stale:
		// The store saw a later request of ours first: this answer says
		// nothing about whether the operation took effect.
		c.finish()
		c.stats.GaveUp++
		c.hist.GiveUp(c.cfg.ID)
		if c.active {
			c.scheduleNext()
		}
	case resp.Status == kv.StatusOK:
		c.finish()
		if c.knows(from) {
			c.target = from
		}
		c.stats.Completed++
		c.hist.Return(c.cfg.ID, from, resp.Result, c.env.Now())
		if c.active {
			c.scheduleNext()
		}
	case resp.Status == kv.StatusNotLeader:
		c.stats.Redirects++
		c.hops++
		if resp.LeaderHint != 0 && resp.LeaderHint != from && c.knows(resp.LeaderHint) && c.hops <= len(c.cfg.Servers) {
			c.target = resp.LeaderHint
			c.send()
			return
		}
		c.hops = 0
		// No leader known: try the next server after a short pause, so a
		// leaderless cluster is not flooded (the attempt's own timeout
		// is moot: the pause sends the next one first).
		attempt := c.attempt
		c.stopAttempt()
		c.attemptTimer = c.env.After(c.cfg.AttemptTimeout/4, func() {
			if c.busy && c.attempt == attempt {
				c.target = c.next(from)
				c.send()
			}
		})
	default: // proposed but unanswered: retry the same seq where the leader is
		c.stats.Retries++
		c.target = c.next(from)
		if resp.LeaderHint != 0 && resp.LeaderHint != from && c.knows(resp.LeaderHint) {
			c.target = resp.LeaderHint
		}
		c.send()
	}
}
