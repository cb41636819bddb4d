//go:build !unix

package filelog

import "os"

// lockDir does nothing where flock is not available: the caller must make
// sure only one Log uses a directory.
func lockDir(string) (*os.File, error) { return nil, nil }
