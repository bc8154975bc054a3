package main

import (
	"bytes"
	"encoding/json"
	"io"
)

// writeOrderedJSON writes one JSON object whose keys keep the given order
// (encoding/json sorts map keys, and the order of a report is part of its
// readability).
func writeOrderedJSON(w io.Writer, keys []string, vals []any) error {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(vals[i])
		if err != nil {
			return err
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteString("}\n")
	_, err := w.Write(b.Bytes())
	return err
}
