package wire_test

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/seed4fee1fef/raftsim/raft/internal/wire"
)

var errBad = errors.New("test: corrupt")

func TestDecoderReadsWhatEncodersWrite(t *testing.T) {
	var b []byte
	b = binary.AppendUvarint(b, 300)
	b = append(b, 7)
	b = binary.LittleEndian.AppendUint32(b, 0xdeadbeef)
	b = binary.AppendUvarint(b, 3)
	b = append(b, "abc"...)
	d := wire.NewDecoder(b, errBad)
	assert.Equal(t, uint64(300), d.Uvarint("n"))
	assert.Equal(t, byte(7), d.Byte("b"))
	assert.Equal(t, uint32(0xdeadbeef), d.Uint32("u"))
	f := d.Field("f")
	assert.Equal(t, "abc", string(f))
	assert.Equal(t, 3, cap(f), "a field's capacity ends with it")
	assert.Equal(t, len(b), d.Offset())
	require.NoError(t, d.Done("record"))
}

func TestDecoderRefusesBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		read func(d *wire.Decoder)
		want string
	}{
		{"bad varint", []byte{0x80}, func(d *wire.Decoder) { d.Uvarint("term") }, "bad varint for term"},
		{"non-minimal varint", []byte{0x81, 0x00}, func(d *wire.Decoder) { d.Uvarint("term") }, "non-minimal varint for term"},
		{"missing byte", nil, func(d *wire.Decoder) { d.Byte("flags") }, "missing flags"},
		{"short uint32", []byte{1, 2, 3}, func(d *wire.Decoder) { d.Uint32("crc") }, "missing crc"},
		{"count beyond input", []byte{5, 1, 2}, func(d *wire.Decoder) { d.Count("entries") }, "entries: 5 exceeds the 2 bytes left"},
		{"field beyond input", []byte{9, 'a'}, func(d *wire.Decoder) { d.Field("key") }, "key: 9 exceeds the 1 bytes left"},
		{"trailing bytes", []byte{1, 2}, func(d *wire.Decoder) { d.Byte("b") }, "1 trailing bytes after record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := wire.NewDecoder(tc.in, errBad)
			tc.read(&d)
			err := d.Done("record")
			require.ErrorIs(t, err, errBad)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// The first error sticks: later reads return zero values and the
// reported error names the first bad field.
func TestDecoderErrorSticks(t *testing.T) {
	overflow := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}
	d := wire.NewDecoder(append(overflow, 5, 5, 5, 5, 5), errBad)
	d.Uvarint("first")
	assert.Zero(t, d.Byte("second"))
	assert.Zero(t, d.Uint32("third"))
	assert.Nil(t, d.Field("fourth"))
	assert.ErrorContains(t, d.Done("record"), "bad varint for first")
}

// Whatever the bytes, decoding ends with an error or a full read, never a
// panic, and a count never exceeds the bytes left.
func TestDecoderNeverPanics(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := rapid.SliceOfN(rapid.Byte(), 0, 64).Draw(t, "in")
		ops := rapid.SliceOfN(rapid.IntRange(0, 4), 1, 20).Draw(t, "ops")
		d := wire.NewDecoder(in, errBad)
		for _, op := range ops {
			left := len(d.Rest())
			switch op {
			case 0:
				d.Uvarint("u")
			case 1:
				d.Byte("b")
			case 2:
				d.Uint32("w")
			case 3:
				if n := d.Count("c"); n > left {
					t.Fatalf("count %d with %d bytes left", n, left)
				}
			case 4:
				if f := d.Field("f"); len(f) > left {
					t.Fatalf("field of %d with %d bytes left", len(f), left)
				}
			}
		}
		if err := d.Err(); err != nil && !errors.Is(err, errBad) {
			t.Fatalf("error %v does not wrap the sentinel", err)
		}
	})
}
