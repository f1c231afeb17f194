// Package runconfig records the configuration of a training run in its
// output folder, as config.json, so that a later run in the same folder
// can be checked against it before resuming.
//
// Check compares without writing, so a command can report the changes and
// write only once it trains. Nothing is overwritten: when a resumed run
// changes a setting, Save keeps the earlier file as config.previous-N.json
// (N = 1, 2, ...) and returns the settings that changed.
package runconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Change is one setting that differs from the configuration saved in a
// run's folder: its JSON name and both values as compact JSON, or "unset"
// where a file lacks the setting.
type Change struct {
	Name, Old, New string
}

// Check compares cfg with the configuration saved at path without writing
// anything. When path exists, Check decodes it into a value of cfg's type
// and passes it to checkResumable, which returns an error for an
// architecture that cannot resume. It returns the settings that differ,
// sorted by name, and none for a new run or an unchanged one.
//
// cfg must be a struct or a pointer to one.
func Check[C any](path string, cfg C, checkResumable func(saved C) error) ([]Change, error) {
	encoded, old, err := compare(path, cfg, checkResumable)
	if err != nil || old == nil {
		return nil, err
	}
	return changedFields(old, encoded)
}

// Prepare runs Check and returns its changes with a function that writes
// cfg to path as Save does, for a trainer that writes its configuration only
// once it trains.
func Prepare[C any](path string, cfg C, checkResumable func(saved C) error) (changes []Change, save func() error, err error) {
	changes, err = Check(path, cfg, checkResumable)
	if err != nil {
		return nil, nil, err
	}
	save = func() error {
		_, err := Save(path, cfg, checkResumable)
		return err
	}
	return changes, save, nil
}

// Save runs Check and then writes cfg, encoded as indented JSON, to path.
// When the new configuration differs from the one saved there, the earlier
// file is kept as config.previous-N.json next to path. Save returns the
// JSON names of the settings that changed, sorted, and none for a new run.
//
// cfg must be a struct or a pointer to one.
func Save[C any](path string, cfg C, checkResumable func(saved C) error) (changed []string, err error) {
	encoded, old, err := compare(path, cfg, checkResumable)
	switch {
	case err != nil:
		return nil, err
	case old == nil:
		return nil, writeAtomically(path, encoded)
	case bytes.Equal(old, encoded):
		return nil, nil
	}
	changes, err := changedFields(old, encoded)
	if err != nil {
		return nil, err
	}
	previous, err := previousPath(path)
	if err != nil {
		return nil, err
	}
	if err := os.Rename(path, previous); err != nil {
		return nil, fmt.Errorf("runconfig: keeping the earlier configuration: %w", err)
	}
	for _, change := range changes {
		changed = append(changed, change.Name)
	}
	return changed, writeAtomically(path, encoded)
}

// Load reads the configuration saved at path into a value of type C. It
// returns an error that names path when the file is missing or invalid.
func Load[C any](path string) (C, error) {
	var cfg C
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("runconfig: reading the saved configuration: %w", err)
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return cfg, fmt.Errorf("runconfig: invalid configuration file %s: %w", path, err)
	}
	return cfg, nil
}

// FormatChanges returns changes as "name old -> new", joined by ", ", as
// the commands and notebooks report a resumed run.
func FormatChanges(changes []Change) string {
	parts := make([]string, len(changes))
	for i, change := range changes {
		parts[i] = fmt.Sprintf("%s %s -> %s", change.Name, change.Old, change.New)
	}
	return strings.Join(parts, ", ")
}

// NextPrevious returns the path under which Save would keep the
// configuration now at path: the first config.previous-N.json next to it
// that does not exist yet.
func NextPrevious(path string) (string, error) {
	return previousPath(path)
}

// PreviousName returns NextPrevious(path) for a message to the user, or,
// when the folder cannot be read, "config.previous-N.json in" the folder.
func PreviousName(path string) string {
	previous, err := NextPrevious(path)
	if err != nil {
		return "config.previous-N.json in " + filepath.Dir(path)
	}
	return previous
}

// compare encodes cfg and reads the configuration saved at path, which it
// returns as old, nil for a new run. It returns an error for an unreadable
// or invalid file and for the error of checkResumable.
func compare[C any](path string, cfg C, checkResumable func(saved C) error) (encoded, old []byte, err error) {
	encoded, err = json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, nil, fmt.Errorf("runconfig: encoding the configuration: %w", err)
	}
	encoded = append(encoded, '\n')

	old, err = os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return encoded, nil, nil
	case err != nil:
		return nil, nil, fmt.Errorf("runconfig: reading %s: %w", path, err)
	}
	var saved C
	if err := json.Unmarshal(old, &saved); err != nil {
		return nil, nil, fmt.Errorf("runconfig: invalid configuration file %s: %w; move it away to start a new run there", path, err)
	}
	// Settings that this configuration does not have mean that the file
	// belongs to another model's run.
	strict := json.NewDecoder(bytes.NewReader(old))
	strict.DisallowUnknownFields()
	var known C
	if err := strict.Decode(&known); err != nil {
		return nil, nil, fmt.Errorf("runconfig: %s is not from a run of this model (%v), so this run cannot resume it: "+
			"use another output folder (in a notebook, another runTag)", path, err)
	}
	if err := checkResumable(saved); err != nil {
		return nil, nil, err
	}
	return encoded, old, nil
}

// changedFields returns the top-level settings whose values differ,
// sorted by name.
func changedFields(old, updated []byte) ([]Change, error) {
	var before, after map[string]json.RawMessage
	if err := json.Unmarshal(old, &before); err != nil {
		return nil, fmt.Errorf("runconfig: comparing configurations: %w", err)
	}
	if err := json.Unmarshal(updated, &after); err != nil {
		return nil, fmt.Errorf("runconfig: comparing configurations: %w", err)
	}
	var changes []Change
	for name, value := range after {
		if !jsonEqual(before[name], value) {
			changes = append(changes, Change{Name: name, Old: compact(before[name]), New: compact(value)})
		}
	}
	for name, value := range before {
		if _, found := after[name]; !found {
			changes = append(changes, Change{Name: name, Old: compact(value), New: "unset"})
		}
	}
	slices.SortFunc(changes, func(a, b Change) int { return strings.Compare(a.Name, b.Name) })
	return changes, nil
}

// compact returns value as compact JSON, or "unset" when it is empty.
func compact(value json.RawMessage) string {
	if len(value) == 0 {
		return "unset"
	}
	var out bytes.Buffer
	if json.Compact(&out, value) != nil {
		return string(value)
	}
	return out.String()
}

// jsonEqual compares two JSON values ignoring their layout.
func jsonEqual(a, b json.RawMessage) bool {
	var compactA, compactB bytes.Buffer
	if json.Compact(&compactA, a) != nil || json.Compact(&compactB, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(compactA.Bytes(), compactB.Bytes())
}

// previousPath returns the first config.previous-N.json next to path that
// does not exist yet.
func previousPath(path string) (string, error) {
	dir, base := filepath.Split(path)
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	for n := 1; n < 10000; n++ {
		candidate := filepath.Join(dir, fmt.Sprintf("%s.previous-%d%s", stem, n, filepath.Ext(base)))
		if _, err := os.Stat(candidate); errors.Is(err, fs.ErrNotExist) {
			return candidate, nil
		}
	}
	return "", fmt.Errorf("runconfig: %s has 9999 earlier configurations next to it: use a new output folder", path)
}

// writeAtomically writes data to a temporary file next to path and renames
// it over path, so that an interrupted write never leaves half a file.
func writeAtomically(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("runconfig: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("runconfig: writing %s: %w", path, err)
	}
	return nil
}

// CheckArchitecture returns an error when a setting that fixes the shapes
// of the variables differs between the run saved in path and the current
// one. saved and current map setting names to values; the first differing
// name, in sorted order, is named in the error, prefixed by pkg.
func CheckArchitecture(pkg string, saved, current map[string]any, path string) error {
	names := make([]string, 0, len(current))
	for name := range current {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if fmt.Sprint(saved[name]) != fmt.Sprint(current[name]) {
			return fmt.Errorf("%s: %s was %v in the run saved in %s but is %v now: use another output folder (in a notebook, another runTag), or the same %s to resume",
				pkg, name, saved[name], path, current[name], name)
		}
	}
	return nil
}

// PresetNames returns the names of presets, sorted.
func PresetNames[C any](presets map[string]func(*C)) []string {
	return slices.Sorted(maps.Keys(presets))
}

// ApplyPreset returns base with the preset called name applied. An unknown
// name is an error, prefixed by pkg (e.g. "gan"), that lists the valid ones.
func ApplyPreset[C any](pkg string, presets map[string]func(*C), name string, base C) (C, error) {
	apply, found := presets[name]
	if !found {
		var zero C
		return zero, fmt.Errorf("%s: unknown preset %q: valid presets are %s", pkg, name, strings.Join(PresetNames(presets), ", "))
	}
	apply(&base)
	return base, nil
}
