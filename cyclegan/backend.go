package cyclegan

import (
	"fmt"

	"github.com/gomlx/compute"

	"github.com/catsynth/catsynth/backend"
)

// GoBackendConfig is the GoMLX configuration of the pure Go backend for
// CycleGAN graphs: the ops of a graph run one at a time, and a large op
// still splits its work over the worker pool.
//
// NOTE: with the default "go" configuration (gomlx/compute v0.1.2), the
// training steps hang in some runs (2 of 3 smoke runs in one test). The
// graph's independent branches (the two generators, the two
// discriminators) run in parallel, and each large matmul then waits in the
// worker pool's Saturate for workers that the other branches hold.
// ops_sequential avoids that. Its speed against the parallel scheduler was
// not measured while the hang remains.
const GoBackendConfig = "go:ops_sequential"

// NewBackend picks a backend as backend.New does, but replaces the plain
// pure Go backend ("go") by GoBackendConfig.
func NewBackend() (*backend.Choice, error) {
	choice, err := backend.New()
	if err != nil {
		return nil, err
	}
	if choice.Config != "go" {
		return choice, nil
	}
	b, err := compute.NewWithConfig(GoBackendConfig)
	if err != nil {
		return nil, fmt.Errorf("cyclegan: creating the %q backend: %w", GoBackendConfig, err)
	}
	choice.Backend.Finalize()
	return &backend.Choice{
		Backend: b,
		Config:  GoBackendConfig,
		Note:    choice.Note + " (CycleGAN runs it with ops_sequential, which avoids a deadlock of its parallel scheduler)",
	}, nil
}
