// Command custody keeps body-worn-camera and CCTV footage as evidence.
// See `custody --help`.
package main

import (
	"os"

	"github.com/custody-evidence/custody/cmd/custody/internal/cli"
)

func main() { os.Exit(cli.Main()) }
