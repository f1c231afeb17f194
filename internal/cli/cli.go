// Package cli holds what the catsynth commands share in their command-line
// interface.
package cli

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

// SetUsage makes -help print summary (one line on what the command does)
// and examples (indented command lines) before the flags.
func SetUsage(summary string, examples ...string) {
	flag.Usage = func() {
		out := flag.CommandLine.Output()
		name := filepath.Base(os.Args[0])
		fmt.Fprintf(out, "%s: %s\n\nExamples:\n", name, summary)
		for _, example := range examples {
			fmt.Fprintf(out, "  %s\n", example)
		}
		fmt.Fprintf(out, "\nFlags:\n")
		flag.PrintDefaults()
	}
}
