package cli

import (
	"strconv"

	"github.com/catsynth/catsynth/internal/testutil"
	"github.com/catsynth/catsynth/runconfig"

	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseIterations(t *testing.T) {
	got, err := ParseIterations("200, 4000,26000")
	if err != nil || !slices.Equal(got, []int{200, 4000, 26000}) {
		t.Errorf("ParseIterations = %v, %v; want [200 4000 26000]", got, err)
	}
	for _, bad := range []string{"", "10,,20", "0", "-5", "ten"} {
		if _, err := ParseIterations(bad); err == nil {
			t.Errorf("ParseIterations(%q) returned no error", bad)
		}
	}
}

func TestOverrideIfGiven(t *testing.T) {
	saved := flag.CommandLine
	defer func() { flag.CommandLine = saved }()
	flag.CommandLine = flag.NewFlagSet("test", flag.ContinueOnError)
	iterations := flag.Int("iterations", 0, "")
	batchSize := flag.Int("batch_size", 0, "")
	microBatches := flag.Int("micro_batches", 0, "")
	if err := flag.CommandLine.Parse([]string{"-iterations", "50", "-micro_batches", "0"}); err != nil {
		t.Fatal(err)
	}
	// The configuration's values before the flags apply.
	iterationsField, batchSizeField, microBatchesField := 300, 16, 2
	OverrideIfGiven(&iterationsField, "iterations", *iterations)
	OverrideIfGiven(&batchSizeField, "batch_size", *batchSize)
	OverrideIfGiven(&microBatchesField, "micro_batches", *microBatches)
	if iterationsField != 50 {
		t.Errorf("iterations = %d after -iterations 50, want 50", iterationsField)
	}
	if batchSizeField != 16 {
		t.Errorf("batch_size = %d without its flag, want the default 16", batchSizeField)
	}
	if microBatchesField != 0 {
		t.Errorf("micro_batches = %d after -micro_batches 0, want 0 for Validate to reject", microBatchesField)
	}
}

func TestMessagePrefixesOnce(t *testing.T) {
	cases := []struct{ name, err, want string }{
		{"cyclegan", "cyclegan: diffaugment: unknown operation", "cyclegan: diffaugment: unknown operation"},
		{"dcgan", "gan: diffaugment: unknown operation", "dcgan: gan: diffaugment: unknown operation"},
		{"vae", "open runs/x: permission denied", "vae: open runs/x: permission denied"},
		{"vae", "vaeish: not a prefix", "vae: vaeish: not a prefix"},
	}
	for _, c := range cases {
		if got := Message(c.name, errors.New(c.err)); got != c.want {
			t.Errorf("Message(%q, %q) = %q, want %q", c.name, c.err, got, c.want)
		}
	}
}

// TestReportResumeChanges checks the resume message: each changed setting
// with its old and new value, and the file that will keep the earlier
// configuration, the next free number.
func TestReportResumeChanges(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{1, 2} {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("config.previous-%d.json", n)), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	changes := []runconfig.Change{{Name: "iterations", Old: "6", New: "9"}, {Name: "milestones", Old: "unset", New: "[1,3]"}}
	output := testutil.CaptureStdout(t, func() {
		if ReportResume("pixelcnn", dir, changes, 3, 9) {
			t.Error("ReportResume at iteration 3 of 9 reported the run as done")
		}
	})
	if want := "iterations 6 -> 9, milestones unset -> [1,3]"; !strings.Contains(output, want) {
		t.Errorf("output %q does not list the changes as %q", output, want)
	}
	if want := filepath.Join(dir, "config.previous-3.json"); !strings.Contains(output, want) {
		t.Errorf("output %q does not name %s", output, want)
	}
}

// TestReportResumeDone checks that ReportResume reports a run that is
// already at or past the requested iterations as done, with a message on
// how to continue and its changes as not applied, since nothing is written,
// and a run with iterations left as not done, with its changes.
func TestReportResumeDone(t *testing.T) {
	for _, c := range []struct {
		iteration, iterations int
		want                  bool
	}{
		{0, 10, false},
		{9, 10, false},
		{10, 10, true},
		{12, 10, true},
	} {
		var done bool
		changes := []runconfig.Change{{Name: "seed", Old: "1", New: "2"}}
		output := testutil.CaptureStdout(t, func() {
			done = ReportResume("dcgan", "runs/x", changes, c.iteration, c.iterations)
		})
		if done != c.want {
			t.Errorf("ReportResume at iteration %d of %d = %v, want %v", c.iteration, c.iterations, done, c.want)
		}
		if hint := strings.Contains(output, "raise -iterations to continue"); hint != c.want {
			t.Errorf("at iteration %d of %d, the output %q mentions raising -iterations: %v, want %v", c.iteration, c.iterations, output, hint, c.want)
		}
		want := "resuming with changed settings seed 1 -> 2"
		if c.want {
			want = "the changed settings seed 1 -> 2 are not applied"
		}
		if !strings.Contains(output, want) {
			t.Errorf("at iteration %d of %d, the output %q does not contain %q", c.iteration, c.iterations, output, want)
		}
	}
}

// TestCheckArgs parses command lines with the flag package and checks that
// a word left after the flags is an error that names it.
func TestCheckArgs(t *testing.T) {
	for _, c := range []struct {
		args []string
		word string
	}{
		{[]string{"-preset", "smoke", "-out", "runs/x"}, ""},
		{[]string{"-preset", "smoke", "extra-arg", "-out", "runs/x"}, "extra-arg"},
		{[]string{"-diffaugment", "color,", "translation", "-out", "runs/x"}, "translation"},
	} {
		flags := flag.NewFlagSet("test", flag.ContinueOnError)
		flags.String("preset", "", "")
		flags.String("out", "", "")
		flags.String("diffaugment", "", "")
		if err := flags.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		err := CheckArgs(flags)
		switch {
		case c.word == "" && err != nil:
			t.Errorf("CheckArgs after %q = %v, want nil", c.args, err)
		case c.word != "" && (err == nil || !strings.Contains(err.Error(), strconv.Quote(c.word))):
			t.Errorf("CheckArgs after %q = %v, want an error naming %q", c.args, err, c.word)
		}
	}
}

func TestHelpRequested(t *testing.T) {
	for _, c := range []struct {
		args []string
		want bool
	}{
		{[]string{"-h"}, true},
		{[]string{"-preset", "quick", "--help"}, true},
		{[]string{"-help"}, true},
		{[]string{"-lr", "abc"}, false},
		{[]string{"-bogus"}, false},
		{[]string{"help"}, false},
		{[]string{"--", "-h"}, false},
		{nil, false},
	} {
		if got := HelpRequested(c.args); got != c.want {
			t.Errorf("HelpRequested(%q) = %v, want %v", c.args, got, c.want)
		}
	}
}

// TestInterruptContextCancels sends this process an interrupt, which the
// context must catch, and cancel itself for.
func TestInterruptContextCancels(t *testing.T) {
	ctx, stop := InterruptContext("test")
	defer stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the context was not cancelled 5 s after an interrupt")
	}
}
