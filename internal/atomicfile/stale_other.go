//go:build !unix

package atomicfile

import "os"

// lockFile does nothing where flock is missing (Windows): without a lock a
// live writer's file cannot be told from a dead one's, so removeIfDead
// removes nothing there.
func lockFile(*os.File) error { return nil }

func removeIfDead(string) bool { return false }
