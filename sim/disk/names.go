package disk

import (
	"fmt"
	"io/fs"
	"strings"
)

// checkName rejects anything but a plain file name: the FS is one flat
// directory, so a separator or a dot entry could only be a caller's bug.
func checkName(op, name string) error {
	switch {
	case name == "", name == ".", name == "..":
	case strings.ContainsAny(name, "/\\\x00"):
	default:
		return nil
	}
	return fmt.Errorf("disk: %s %q: not a plain file name: %w", op, name, fs.ErrInvalid)
}
