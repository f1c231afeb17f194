// Command checkdata checks that the cat images are in place before training:
//
//	checkdata [-data DIR]
//
// It finds the data root (DIR, else $CATSYNTH_DATA, else data/ in the
// repository), loads both cat folders at 64x64 and prints one line per
// domain with its folder, image count and skipped files, and a warning on
// standard error for a domain with fewer images than the default batch
// size. It exits with status 0 if both load. Otherwise it prints the error,
// which explains where the images go, to standard error and exits with
// status 1. -h prints the help and exits with status 0, and invalid
// arguments exit with status 2.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/catsynth/catsynth/dataset"
	"github.com/catsynth/catsynth/gan"
	"github.com/catsynth/catsynth/internal/cli"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command and returns its exit status.
func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("checkdata", flag.ContinueOnError)
	flags.SetOutput(stderr)
	dataFlag := flags.String("data", "", "data root folder holding cats/grumpifyAprocessed and cats/grumpifyBprocessed (default: $"+dataset.EnvVar+", else data/ in the repository)")
	flags.Usage = cli.Usage(flags, args, "check that the cat images are in place and load, before training",
		"go run ./cmd/checkdata", "go run ./cmd/checkdata -data /path/to/folder/holding/cats")
	if err := flags.Parse(args); errors.Is(err, flag.ErrHelp) {
		return 0
	} else if err != nil {
		return 2
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "checkdata: unexpected arguments %q: usage is checkdata [-data DIR]\n", flags.Args())
		return 2
	}

	root, err := dataset.Root(*dataFlag)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	domains := []struct{ label, dir string }{
		{"Russian Blue (X)", dataset.RussianBlueDir},
		{"Grumpy (Y)", dataset.GrumpyDir},
	}
	for _, d := range domains {
		images, err := dataset.Load(filepath.Join(root, d.dir), 64)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		skipped := "none skipped"
		if len(images.Skipped) > 0 {
			skipped = fmt.Sprintf("%d skipped: %s", len(images.Skipped), strings.Join(images.Skipped, "; "))
		}
		fmt.Fprintf(stdout, "%-17s %s: %d images, %s\n", d.label, images.Dir, images.Len(), skipped)
		if batch := gan.DefaultConfig().BatchSize; images.Len() < batch {
			fmt.Fprintf(stderr, "checkdata: warning: %s has %d images, fewer than the default batch size %d: train with -batch_size %d or less\n",
				images.Dir, images.Len(), batch, images.Len())
		}
	}
	return 0
}
