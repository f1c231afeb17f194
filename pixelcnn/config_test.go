package pixelcnn

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*Config)
		wantErr string
	}{
		{"defaults", func(*Config) {}, ""},
		{"unknown data", func(c *Config) { c.Data = "cifar" }, "data"},
		{"unknown binarization", func(c *Config) { c.Binarization = "dither" }, "binarization"},
		{"odd hidden", func(c *Config) { c.Hidden = 33 }, "hidden"},
		{"zero blocks", func(c *Config) { c.ResidualBlocks = 0 }, "residual_blocks"},
		{"zero micro-batches", func(c *Config) { c.MicroBatches = 0 }, "micro_batches"},
		{"more micro-batches than images", func(c *Config) { c.MicroBatches = c.BatchSize + 1 }, ""},
		{"image size 48", func(c *Config) { c.Data = DataGrumpy; c.ImageSize = 48 }, "image_size"},
		{"negative eval images", func(c *Config) { c.EvalImages = -1 }, "eval_images"},
		{"zero lr", func(c *Config) { c.LearningRate = 0 }, "lr"},
		{"unknown conv impl", func(c *Config) { c.ConvImpl = "fft" }, "conv_impl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig(DataMNIST)
			tt.change(&cfg)
			err := cfg.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want an error naming %q", err, tt.wantErr)
			}
		})
	}
}

func TestPresetConfig(t *testing.T) {
	for _, data := range []string{DataMNIST, DataGrumpy, DataRussianBlue} {
		for _, name := range PresetNames() {
			cfg, err := PresetConfig(name, data)
			if err != nil {
				t.Fatalf("PresetConfig(%q, %q): %v", name, data, err)
			}
			if err := cfg.Validate(); err != nil {
				t.Errorf("preset %q for %s is invalid: %v", name, data, err)
			}
		}
	}
	if _, err := PresetConfig("huge", DataMNIST); err == nil || !strings.Contains(err.Error(), "huge") {
		t.Errorf("PresetConfig(\"huge\") error = %v, want one naming the preset", err)
	}
	report, err := PresetConfig("report", DataGrumpy)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := report.Milestones, []int{200, 3000, 14000}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("report milestones for the cats = %v, want %v", got, want)
	}
}

func TestConvMACsPerPixel(t *testing.T) {
	// One block of h=4 on one channel, counted by hand: first layer 4*7*1*4,
	// block 4*2 + 6*2*2 + 2*4, head 4*4 + 4*1.
	cfg := DefaultConfig(DataMNIST)
	cfg.Hidden = 4
	cfg.ResidualBlocks = 1
	if got, want := ConvMACsPerPixel(cfg, 1), int64(112+40+20); got != want {
		t.Errorf("ConvMACsPerPixel = %d, want %d", got, want)
	}
}
