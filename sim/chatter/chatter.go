// Package chatter is a toy workload that exercises every facility of the
// simulator kernel: timers, random sends, disk appends and fsyncs, and
// recovery of a durable counter after a crash. It exists to test the kernel
// and to give simrun a world to run before Raft does; it proves nothing
// about Raft.
package chatter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/seed4fee1fef/raftsim/sim"
	"github.com/seed4fee1fef/raftsim/sim/disk"
)

const logName = "chatter.log"

// Node is one chatter process. It keeps a counter of messages received,
// appends each received payload's length to its log, and fsyncs every few
// appends; on restart it recovers the counter from the durable log.
type Node struct {
	env       *sim.Env
	peers     int
	log       *disk.File
	Recovered int // records found on disk at start
	received  int
}

// Factory returns a sim.Factory for a chatter node among peers nodes.
func Factory(peers int) sim.Factory {
	return func(env *sim.Env) (sim.Handler, error) {
		n := &Node{env: env, peers: peers}
		fs := env.Disk()
		data, err := fs.ReadFile(logName)
		switch {
		case errors.Is(err, disk.ErrNotExist):
			if n.log, err = fs.Create(logName); err != nil {
				return nil, err
			}
			if err := fs.SyncDir(); err != nil {
				return nil, err
			}
		case err != nil:
			return nil, err
		default:
			// Only whole 8-byte records count; a torn tail is cut off.
			n.Recovered = len(data) / 8
			if n.log, err = fs.Open(logName); err != nil {
				return nil, err
			}
			if err := n.log.Truncate(int64(n.Recovered * 8)); err != nil {
				return nil, err
			}
		}
		env.Note(fmt.Sprintf("recovered %d records", n.Recovered))
		n.schedule()
		return n, nil
	}
}

func (n *Node) schedule() {
	d := time.Duration(1+n.env.Rand().IntN(20)) * time.Millisecond
	n.env.After(d, n.tick)
}

func (n *Node) tick() {
	r := n.env.Rand()
	to := sim.NodeID(1 + r.IntN(n.peers))
	payload := make([]byte, 1+r.IntN(64))
	for i := range payload {
		payload[i] = byte(r.Uint64())
	}
	n.env.Send(to, payload)
	n.schedule()
}

// Receive records the payload length and sometimes fsyncs and replies.
func (n *Node) Receive(from sim.NodeID, msg []byte) {
	n.received++
	var rec [8]byte
	binary.LittleEndian.PutUint64(rec[:], uint64(len(msg)))
	if _, err := n.log.Write(rec[:]); err != nil {
		n.env.Note("write failed: " + err.Error())
		return
	}
	if n.received%3 == 0 {
		if err := n.log.Sync(); err != nil {
			n.env.Note("sync failed: " + err.Error())
		}
	}
	if len(msg) > 1 && msg[0]%2 == 0 {
		n.env.Send(from, msg[:len(msg)/2])
	}
}
