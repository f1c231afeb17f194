package runconfig

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type testConfig struct {
	ConvDim int     `json:"conv_dim"`
	LR      float64 `json:"lr"`
	Data    string  `json:"data_preprocess"`
}

func sameConvDim(cfg testConfig) func(testConfig) error {
	return func(saved testConfig) error {
		if saved.ConvDim != cfg.ConvDim {
			return errors.New("conv_dim changed")
		}
		return nil
	}
}

func TestSaveNewAndUnchanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	cfg := testConfig{ConvDim: 32, LR: 2e-4, Data: "deluxe"}
	for round := range 2 {
		changed, err := Save(path, cfg, sameConvDim(cfg))
		if err != nil || len(changed) != 0 {
			t.Fatalf("round %d: Save = %v, %v; want no change and no error", round, changed, err)
		}
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "config.previous-*.json"))
	if len(matches) != 0 {
		t.Errorf("an unchanged configuration left earlier copies %v", matches)
	}
}

func TestSaveKeepsEarlierConfiguration(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	first := testConfig{ConvDim: 32, LR: 2e-4, Data: "deluxe"}
	if _, err := Save(path, first, sameConvDim(first)); err != nil {
		t.Fatal(err)
	}
	original, _ := os.ReadFile(path)

	second := testConfig{ConvDim: 32, LR: 0.01, Data: "basic"}
	changed, err := Save(path, second, sameConvDim(second))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"data_preprocess", "lr"}; !slices.Equal(changed, want) {
		t.Errorf("changed %v, want %v", changed, want)
	}
	kept, err := os.ReadFile(filepath.Join(dir, "config.previous-1.json"))
	if err != nil || string(kept) != string(original) {
		t.Errorf("config.previous-1.json = %q, %v; want the first configuration %q", kept, err, original)
	}
	current, _ := os.ReadFile(path)
	if !strings.Contains(string(current), `"basic"`) {
		t.Errorf("config.json = %s, want the new configuration", current)
	}

	third := testConfig{ConvDim: 32, LR: 0.02, Data: "basic"}
	if _, err := Save(path, third, sameConvDim(third)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "config.previous-2.json")); err != nil {
		t.Errorf("a second change did not keep config.previous-2.json: %v", err)
	}
}

func TestSaveRejectsArchitectureAndKeepsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	first := testConfig{ConvDim: 32}
	if _, err := Save(path, first, sameConvDim(first)); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	other := testConfig{ConvDim: 16}
	if _, err := Save(path, other, sameConvDim(other)); err == nil {
		t.Fatal("Save with another conv_dim returned no error")
	}
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Errorf("a rejected Save changed config.json from %s to %s", before, after)
	}
}

func TestSaveRejectsCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig{ConvDim: 32}
	_, err := Save(path, cfg, sameConvDim(cfg))
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Save over a corrupt file: error %v, want one naming %s", err, path)
	}
}

func TestCheckArchitecture(t *testing.T) {
	saved := map[string]any{"conv_dim": 32, "norm": "instance"}
	if err := CheckArchitecture("gan", saved, map[string]any{"conv_dim": 32, "norm": "instance"}, "run/config.json"); err != nil {
		t.Errorf("same architecture: %v", err)
	}
	err := CheckArchitecture("gan", saved, map[string]any{"conv_dim": 16, "norm": "batch"}, "run/config.json")
	if err == nil {
		t.Fatal("another architecture returned no error")
	}
	want := "gan: conv_dim was 32 in the run saved in run/config.json but is 16 now"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q, want it to start with %q", err, want)
	}
}

func TestApplyPreset(t *testing.T) {
	type config struct{ Iterations, LogEvery int }
	presets := map[string]func(*config){
		"smoke":  func(c *config) { c.Iterations = 2 },
		"quick":  func(c *config) { c.Iterations, c.LogEvery = 300, 5 },
		"report": func(c *config) {},
	}
	if got := PresetNames(presets); !slices.Equal(got, []string{"quick", "report", "smoke"}) {
		t.Errorf("PresetNames = %v, want [quick report smoke]", got)
	}
	base := config{Iterations: 10000, LogEvery: 10}
	got, err := ApplyPreset("toy", presets, "quick", base)
	if err != nil {
		t.Fatal(err)
	}
	if want := (config{Iterations: 300, LogEvery: 5}); got != want {
		t.Errorf("quick preset gave %+v, want %+v", got, want)
	}
	if got, _ := ApplyPreset("toy", presets, "report", base); got != base {
		t.Errorf("report preset gave %+v, want the base %+v", got, base)
	}
	_, err = ApplyPreset("toy", presets, "fast", base)
	if err == nil || !strings.Contains(err.Error(), `toy: unknown preset "fast"`) || !strings.Contains(err.Error(), "quick, report, smoke") {
		t.Errorf("unknown preset: %v, want an error naming it and the valid presets", err)
	}
}

// TestCheckWritesNothing checks a new run, a changed run and a changed
// architecture with Check, and that the folder is the same afterwards.
func TestCheckWritesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	first := testConfig{ConvDim: 32, LR: 2e-4, Data: "deluxe"}

	changes, err := Check(path, first, sameConvDim(first))
	if err != nil || changes != nil {
		t.Fatalf("Check of a new run = %v, %v; want no change and no error", changes, err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("Check of a new run wrote config.json")
	}

	if _, err := Save(path, first, sameConvDim(first)); err != nil {
		t.Fatal(err)
	}
	original, _ := os.ReadFile(path)
	second := testConfig{ConvDim: 32, LR: 0.01, Data: "deluxe"}
	changes, err = Check(path, second, sameConvDim(second))
	if err != nil {
		t.Fatal(err)
	}
	if want := []Change{{Name: "lr", Old: "0.0002", New: "0.01"}}; !slices.Equal(changes, want) {
		t.Errorf("Check = %+v, want %+v", changes, want)
	}
	other := testConfig{ConvDim: 64, LR: 2e-4, Data: "deluxe"}
	if _, err := Check(path, other, sameConvDim(other)); err == nil {
		t.Error("Check accepted a changed conv_dim")
	}

	after, _ := os.ReadFile(path)
	if string(after) != string(original) {
		t.Errorf("config.json changed from %q to %q", original, after)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the folder holds %d files after Check, want config.json alone", len(entries))
	}
	next, err := NextPrevious(path)
	if err != nil || filepath.Base(next) != "config.previous-1.json" {
		t.Errorf("NextPrevious = %q, %v; want config.previous-1.json", next, err)
	}
}

// TestLoad reads back a saved configuration, and checks the errors for a
// missing and a corrupt file.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	want := testConfig{ConvDim: 48, LR: 1e-3, Data: "basic"}
	if _, err := Save(path, want, sameConvDim(want)); err != nil {
		t.Fatal(err)
	}
	got, err := Load[testConfig](path)
	if err != nil || got != want {
		t.Errorf("Load = %+v, %v; want %+v", got, err, want)
	}
	if _, err := Load[testConfig](filepath.Join(dir, "missing.json")); err == nil {
		t.Error("Load of a missing file returned no error")
	}
	corrupt := filepath.Join(dir, "corrupt.json")
	if err := os.WriteFile(corrupt, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load[testConfig](corrupt); err == nil || !strings.Contains(err.Error(), corrupt) {
		t.Errorf("Load of a corrupt file = %v, want an error naming it", err)
	}
}

// TestPrepareWritesOnSave checks that Prepare writes nothing itself and that
// its save function writes the configuration as Save does.
func TestPrepareWritesOnSave(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	cfg := testConfig{ConvDim: 32, LR: 2e-4, Data: "deluxe"}
	changes, save, err := Prepare(path, cfg, sameConvDim(cfg))
	if err != nil || changes != nil {
		t.Fatalf("Prepare of a new run = %v, %v; want no change and no error", changes, err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("Prepare wrote config.json before save was called")
	}
	if err := save(); err != nil {
		t.Fatal(err)
	}
	if saved, err := Load[testConfig](path); err != nil || saved != cfg {
		t.Errorf("after save, config.json contains %+v, %v; want %+v", saved, err, cfg)
	}
}

// TestCheckRejectsAnotherModelsRun checks a configuration against a file
// written by another configuration type, which has a setting this one does
// not know. The error must name the file and the setting.
func TestCheckRejectsAnotherModelsRun(t *testing.T) {
	type dcgan struct {
		ConvDim   int `json:"conv_dim"`
		NoiseSize int `json:"noise_size"`
	}
	type vae struct {
		ConvDim int    `json:"conv_dim"`
		Dataset string `json:"dataset"`
	}
	path := filepath.Join(t.TempDir(), "config.json")
	if _, err := Save(path, dcgan{ConvDim: 32, NoiseSize: 100}, func(dcgan) error { return nil }); err != nil {
		t.Fatal(err)
	}
	_, err := Check(path, vae{ConvDim: 32, Dataset: "cats"}, func(vae) error { return nil })
	if err == nil {
		t.Fatal("Check accepted the configuration of another model's run")
	}
	for _, want := range []string{path + " is not from a run of this model", `"noise_size"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if _, err := Check(path, dcgan{ConvDim: 64, NoiseSize: 100}, func(dcgan) error { return nil }); err != nil {
		t.Errorf("the same model's configuration: %v", err)
	}
}
