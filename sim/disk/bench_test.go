package disk_test

import (
	"fmt"
	"testing"

	"github.com/seed4fee1fef/raftsim/sim/disk"
)

// BenchmarkAppendSync is a WAL's hot path: append one record, fsync it.
// The file is cut back every segment's worth so memory stays flat.
func BenchmarkAppendSync(b *testing.B) {
	for _, size := range []int{64, 1024, 16 << 10} {
		b.Run(fmt.Sprintf("record=%d", size), func(b *testing.B) {
			d := disk.New()
			f, err := d.Create("wal")
			if err != nil {
				b.Fatal(err)
			}
			record := make([]byte, size)
			segment := max(1, (4<<20)/size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if i%segment == 0 {
					if err := f.Truncate(0); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := f.Write(record); err != nil {
					b.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
