// Package cli holds what the catsynth commands share in their command-line
// interface.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/catsynth/catsynth/runconfig"
)

// SetUsage makes -help print summary (one line on what the command does)
// and examples (indented command lines) before the flags. After a flag
// error, which the flag package prints first, it prints one line that
// points to -help instead, so that the error stays in view above it.
func SetUsage(summary string, examples ...string) {
	flag.Usage = Usage(flag.CommandLine, os.Args[1:], summary, examples...)
}

// Usage returns the usage function that SetUsage installs, for flags
// parsed from args, which it writes to flags.Output() under the name
// flags.Name().
func Usage(flags *flag.FlagSet, args []string, summary string, examples ...string) func() {
	return func() {
		out := flags.Output()
		name := filepath.Base(flags.Name())
		if !HelpRequested(args) {
			fmt.Fprintf(out, "Run %s with -help to list the flags.\n", name)
			return
		}
		fmt.Fprintf(out, "%s: %s\n\nExamples:\n", name, summary)
		for _, example := range examples {
			fmt.Fprintf(out, "  %s\n", example)
		}
		fmt.Fprintf(out, "\nFlags:\n")
		flags.PrintDefaults()
	}
}

// HelpRequested reports whether args, a command line without the program
// name, contain -h or -help (with one or two dashes), which the flag
// package handles by printing the usage text.
func HelpRequested(args []string) bool {
	for _, arg := range args {
		if arg == "--" {
			return false
		}
		switch strings.TrimLeft(arg, "-") {
		case "h", "help":
			if strings.HasPrefix(arg, "-") {
				return true
			}
		}
	}
	return false
}

// CheckArgs returns an error when the command line of flags has words left
// after its flags. The flag package stops at the first word that is neither
// a flag nor a flag's value and leaves the flags after it unread, so such a
// run would silently use defaults, such as another output folder.
func CheckArgs(flags *flag.FlagSet) error {
	if flags.NArg() == 0 {
		return nil
	}
	return fmt.Errorf("unexpected argument %q, and the flags after it were not read: every flag starts with -, "+
		"and a value with spaces goes in quotes (a list such as 100,200 takes no space after its commas)", flags.Arg(0))
}

// ParseIterations reads a comma-separated list of positive iteration
// numbers, as given to -milestones.
func ParseIterations(list string) ([]int, error) {
	var values []int
	for _, part := range strings.Split(list, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || v < 1 {
			return nil, fmt.Errorf("invalid iteration %q: want positive integers separated by commas", part)
		}
		values = append(values, v)
	}
	return values, nil
}

// IsTerminal reports whether f is a character device, where the progress
// bar can redraw in place.
func IsTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// ReportResume prints, for the command name, a message when the run in
// outDir is already at or past the requested number of iterations, and
// returns true in that case, when the command has nothing left to train
// and writes no settings or losses; it then names the changed settings as
// not applied. Otherwise it prints the settings that changed since
// that run, from runconfig.Prepare, and the file under which the earlier
// config.json is kept once training starts.
func ReportResume(name, outDir string, changes []runconfig.Change, iteration, iterations int) (done bool) {
	if iteration >= iterations {
		fmt.Printf("%s: the run in %s is already at iteration %d, so -iterations %d trains nothing; raise -iterations to continue\n",
			name, outDir, iteration, iterations)
		if len(changes) > 0 {
			fmt.Printf("%s: the changed settings %s are not applied; raise -iterations to train on with them, or give another -out for a new run\n",
				name, runconfig.FormatChanges(changes))
		}
		return true
	}
	if len(changes) > 0 {
		fmt.Printf("%s: resuming with changed settings %s; the earlier config.json is kept as %s\n",
			name, runconfig.FormatChanges(changes), runconfig.PreviousName(filepath.Join(outDir, "config.json")))
	}
	return false
}

// Exit ends the command name after run returned err: status 0 for nil, 130
// for an interruption (the checkpoint is saved by then), and 1 otherwise.
func Exit(name string, err error) {
	if err == nil {
		os.Exit(0)
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(os.Stderr, "%s: interrupted; the checkpoint is saved, run the same command again to resume\n", name)
		os.Exit(130)
	}
	fmt.Fprintln(os.Stderr, Message(name, err))
	os.Exit(1)
}

// InterruptContext returns a context that the first interrupt (Ctrl-C)
// cancels, for the training loop to save a checkpoint after the current
// step and return. It prints at once that the interrupt was received, since
// a step can take seconds. A second interrupt ends the command right away
// with status 130, losing the steps since the newest checkpoint. stop
// releases the signal.
func InterruptContext(name string) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt)
	done := make(chan struct{})
	go func() {
		select {
		case <-signals:
		case <-done:
			return
		}
		fmt.Fprintf(os.Stderr, "\n%s: interrupt received; saving a checkpoint after the current step (interrupt again to quit now, losing the steps since the newest checkpoint)\n", name)
		cancel()
		select {
		case <-signals:
			fmt.Fprintf(os.Stderr, "%s: interrupted again; quitting without a checkpoint of the current step\n", name)
			os.Exit(130)
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(signals)
			close(done)
			cancel()
		})
	}
}

// Message returns the line Exit prints for err: the error prefixed by the
// command's name, unless the error already starts with it (as the errors of
// the package a command is named after do).
func Message(name string, err error) string {
	text := err.Error()
	if strings.HasPrefix(text, name+": ") {
		return text
	}
	return name + ": " + text
}

// Given reports whether the command line set the flag name. flag.Parse
// must have run. It panics when the command defines no such flag, a
// mistake in the command's code.
func Given(name string) bool {
	if flag.Lookup(name) == nil {
		panic(fmt.Sprintf("cli.Given: the command defines no flag %q", name))
	}
	set := false
	flag.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// OverrideIfGiven replaces *field with value when the command line set the
// flag name, whatever the value. An explicit 0 or negative value then
// reaches the configuration's Validate, which rejects it, instead of
// counting as unset.
func OverrideIfGiven[T any](field *T, name string, value T) {
	if Given(name) {
		*field = value
	}
}
