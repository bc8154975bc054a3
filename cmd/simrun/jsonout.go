package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"time"
)

// summary is an ordered list of facts: key: value lines for people, one
// JSON object for machines (--json). Its shape is fixed by the code, not
// by the run: every key is always there in JSON (an absent fact is "" or
// an empty list), a list is always a list, numbers are numbers, booleans
// booleans, and a duration is its text plus KEY-ns in nanoseconds.
type summary struct {
	entries []entry
}

type entry struct {
	key  string
	val  any   // scalar
	list []any // list entries (isList)
	// isList: one line per item in text, an array in JSON.
	isList bool
	// optional: left out of the text when empty (JSON keeps it).
	optional bool
}

// dur is a duration fact: "1.5s" in text; "KEY": "1.5s" and "KEY-ns":
// 1500000000 in JSON.
type dur time.Duration

func (d dur) String() string { return time.Duration(d).String() }

// fixed is a float printed with prec decimals (a JSON number either way).
type fixed struct {
	v    float64
	prec int
}

func (f fixed) String() string { return strconv.FormatFloat(f.v, 'f', f.prec, 64) }

func (f fixed) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(f.v, 'f', f.prec, 64)), nil
}

// add appends one fact.
func (s *summary) add(k string, v any) { s.entries = append(s.entries, entry{key: k, val: v}) }

// opt appends a fact that text leaves out when it is empty ("", 0 items).
func (s *summary) opt(k string, v any) {
	s.entries = append(s.entries, entry{key: k, val: v, optional: true})
}

// list appends a list fact (possibly empty): one "k: item" line per item.
func (s *summary) list(k string, items ...any) {
	s.entries = append(s.entries, entry{key: k, list: items, isList: true})
}

// listOf converts a typed slice for list.
func listOf[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// get returns the value of a scalar fact (nil if none).
func (s *summary) get(k string) any {
	for _, e := range s.entries {
		if e.key == k && !e.isList {
			return e.val
		}
	}
	return nil
}

func (s *summary) print(w io.Writer, asJSON bool) error {
	if asJSON {
		return s.writeJSON(w)
	}
	var b bytes.Buffer
	for _, e := range s.entries {
		switch {
		case e.isList:
			for _, v := range e.list {
				fmt.Fprintf(&b, "%s: %v\n", e.key, v)
			}
		case e.optional && empty(e.val):
		default:
			fmt.Fprintf(&b, "%s: %v\n", e.key, e.val)
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

func empty(v any) bool {
	if v == nil {
		return true
	}
	r := reflect.ValueOf(v)
	switch r.Kind() {
	case reflect.String, reflect.Slice, reflect.Map:
		return r.Len() == 0
	}
	return false
}

// writeJSON writes one JSON object whose keys keep their order (the order
// of a report is part of its readability; encoding/json sorts map keys).
func (s *summary) writeJSON(w io.Writer) error {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	put := func(k string, v any) error {
		vb, err := marshalValue(v)
		if err != nil {
			return fmt.Errorf("--json %s: %w", k, err)
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
		return nil
	}
	for _, e := range s.entries {
		var err error
		switch {
		case e.isList:
			err = put(e.key, e.list)
		default:
			if d, ok := e.val.(dur); ok {
				if err = put(e.key, d.String()); err == nil {
					err = put(e.key+"-ns", int64(d))
				}
			} else {
				err = put(e.key, e.val)
			}
		}
		if err != nil {
			return internal("%v", err)
		}
	}
	b.WriteString("}\n")
	_, err := w.Write(b.Bytes())
	return err
}

// marshalValue is json.Marshal with nil slices as [] (a list is a list,
// even an empty one) and a list's durations as nanoseconds.
func marshalValue(v any) ([]byte, error) {
	if v == nil {
		return []byte("null"), nil
	}
	if items, ok := v.([]any); ok {
		var b bytes.Buffer
		b.WriteByte('[')
		for i, it := range items {
			if i > 0 {
				b.WriteByte(',')
			}
			ib, err := marshalValue(it)
			if err != nil {
				return nil, err
			}
			b.Write(ib)
		}
		b.WriteByte(']')
		return b.Bytes(), nil
	}
	if d, ok := v.(dur); ok {
		return json.Marshal(int64(d))
	}
	if r := reflect.ValueOf(v); r.Kind() == reflect.Slice && r.IsNil() {
		return []byte("[]"), nil
	}
	return json.Marshal(v)
}
