package main

import (
	"bytes"
	"encoding/json"
	"io"
)

// writeOrderedJSON writes one JSON object whose keys keep their order of
// first appearance (encoding/json sorts map keys, and the order of a report
// is part of its readability). A key given more than once becomes an array.
func writeOrderedJSON(w io.Writer, keys []string, vals []any) error {
	var order []string
	grouped := map[string][]any{}
	for i, k := range keys {
		if _, seen := grouped[k]; !seen {
			order = append(order, k)
		}
		grouped[k] = append(grouped[k], vals[i])
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range order {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		var v any = grouped[k]
		if len(grouped[k]) == 1 {
			v = grouped[k][0]
		}
		vb, err := json.Marshal(v)
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
