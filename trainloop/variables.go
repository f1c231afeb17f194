package trainloop

import (
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// ReadVariablesEachCall marks g so that every variable of scope's store
// enters it as a parameter, read afresh each time the compiled graph runs.
// Call it first in every graph function given to model.NewExec whose
// variables change between calls: training steps, and the samplers and
// evaluations that run between them.
//
// NOTE: the Go backend of gomlx/compute v0.1.14 prefers constants for
// variables, and GoMLX v0.28.16 then builds each variable that already has
// a value as a constant holding that value, unless the graph is marked as
// training. A compiled step would then keep the weights of its first call:
// the generator's step would not see the discriminator's updates, and the
// sample grids would repeat the first generator. Marking the graph as
// training keeps every variable a parameter; none of the layers here reads
// that mark for anything else.
func ReadVariablesEachCall(scope *model.Scope, g *graph.Graph) {
	scope.SetTraining(g, true)
}

// FreezeVariables cuts the gradient of every trainable variable of scope
// that g uses, so that a loss built later in g treats their current values
// as constants. A GAN iteration in one graph calls it on the
// discriminators after their update, before the generators' loss reads
// them. Without it, GoMLX v0.28.16 panics while building the generators'
// gradient through the discriminators' update.
func FreezeVariables(scope *model.Scope, g *graph.Graph) {
	for v := range scope.IterVariables() {
		if v.Trainable && v.InUseByGraph(g) {
			v.SetValueGraph(graph.StopGradient(v.ValueGraph(g)))
		}
	}
}
