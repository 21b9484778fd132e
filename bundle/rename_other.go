//go:build !linux

package bundle

func renameNoReplace(from, to string) error { return renameChecked(from, to) }
