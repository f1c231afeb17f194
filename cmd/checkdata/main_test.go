package main

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/catsynth/catsynth/dataset"
)

// makeDomain writes n blank 64x64 PNGs into root/dir.
func makeDomain(t *testing.T, root, dir string, n int) {
	t.Helper()
	folder := filepath.Join(root, dir)
	if err := os.MkdirAll(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		f, err := os.Create(filepath.Join(folder, strings.Repeat("1", i+1)+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, image.NewRGBA(image.Rect(0, 0, 64, 64))); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}

func TestRunSynthetic(t *testing.T) {
	root := t.TempDir()
	makeDomain(t, root, dataset.RussianBlueDir, 2)
	makeDomain(t, root, dataset.GrumpyDir, 3)
	if err := os.WriteFile(filepath.Join(root, dataset.GrumpyDir, "notes.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	if code := run([]string{"-data", root}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit status = %d, want 0; stderr: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("output has %d lines, want 2: %q", len(lines), stdout.String())
	}
	checks := []struct {
		line int
		want []string
	}{
		{0, []string{filepath.Join(root, dataset.RussianBlueDir), "2 images", "none skipped"}},
		{1, []string{filepath.Join(root, dataset.GrumpyDir), "3 images", "1 skipped: notes.txt"}},
	}
	for _, c := range checks {
		for _, want := range c.want {
			if !strings.Contains(lines[c.line], want) {
				t.Errorf("line %d = %q, want it to contain %q", c.line+1, lines[c.line], want)
			}
		}
	}
}

func TestRunMissingData(t *testing.T) {
	root := t.TempDir()
	makeDomain(t, root, dataset.RussianBlueDir, 1) // the Grumpy folder is missing

	var stdout, stderr bytes.Buffer
	if code := run([]string{"-data", root}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit status = %d, want 1", code)
	}
	msg := stderr.String()
	for _, want := range []string{filepath.Join(root, dataset.GrumpyDir), "not found", dataset.EnvVar} {
		if !strings.Contains(msg, want) {
			t.Errorf("stderr %q does not contain %q", msg, want)
		}
	}
}

func TestRunBadArguments(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"extra"}, &stdout, &stderr); code != 2 {
		t.Errorf("exit status with a positional argument = %d, want 2", code)
	}
	if code := run([]string{"-nope"}, &stdout, &stderr); code != 2 {
		t.Errorf("exit status with an unknown flag = %d, want 2", code)
	}
}

func TestRunRealData(t *testing.T) {
	root, err := dataset.Root("")
	if err != nil {
		t.Skipf("no data root found, so the real cat folders are not checked (set %s): %v", dataset.EnvVar, err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit status = %d, want 0; stderr: %s", code, stderr.String())
	}
	for _, want := range []string{"75 images", "204 images", root} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output %q does not contain %q", stdout.String(), want)
		}
	}
}

// TestRunHelpAndSmallDomain checks that -h prints the help with exit status
// 0, and that a domain with fewer images than the default batch size loads
// with a warning that names it and the largest batch size it allows.
func TestRunHelpAndSmallDomain(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-h"}, &stdout, &stderr); code != 0 {
		t.Errorf("-h: exit status = %d, want 0", code)
	}
	if !strings.Contains(stderr.String(), "Examples:") || !strings.Contains(stderr.String(), "-data") {
		t.Errorf("-h printed %q, want the examples and the -data flag", stderr.String())
	}

	root := t.TempDir()
	makeDomain(t, root, dataset.RussianBlueDir, 2)
	makeDomain(t, root, dataset.GrumpyDir, 20)
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"-data", root}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit status = %d, want 0; stderr: %s", code, stderr.String())
	}
	warnings := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(warnings) != 1 {
		t.Fatalf("stderr has %d lines, want one warning: %q", len(warnings), stderr.String())
	}
	for _, want := range []string{filepath.Join(root, dataset.RussianBlueDir), "2 images", "-batch_size 2 or less"} {
		if !strings.Contains(warnings[0], want) {
			t.Errorf("warning %q does not contain %q", warnings[0], want)
		}
	}
}
