package etcdraft

import "fmt"

// discard is the logger the adapter gives etcd-io/raft: it drops every
// message (a simulation logs through its trace, and etcd's lines would
// only be noise), except that Panic and Fatal still panic, as etcd
// expects (code after them assumes they do not return). The adapter
// recovers that panic at its boundary.
type discard struct{}

func (discard) Debug(...any)            {}
func (discard) Debugf(string, ...any)   {}
func (discard) Error(...any)            {}
func (discard) Errorf(string, ...any)   {}
func (discard) Info(...any)             {}
func (discard) Infof(string, ...any)    {}
func (discard) Warning(...any)          {}
func (discard) Warningf(string, ...any) {}

func (discard) Fatal(v ...any)                 { panic(fmt.Sprint(v...)) }
func (discard) Fatalf(format string, v ...any) { panic(fmt.Sprintf(format, v...)) }
func (discard) Panic(v ...any)                 { panic(fmt.Sprint(v...)) }
func (discard) Panicf(format string, v ...any) { panic(fmt.Sprintf(format, v...)) }
