package gan

import (
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/catsynth/catsynth/augment"
	"github.com/catsynth/catsynth/layers"
	"github.com/catsynth/catsynth/trainloop"
)

// Scope names of the two networks in the model store.
const (
	GeneratorScope     = "generator"
	DiscriminatorScope = "discriminator"
)

// leakySlope is the negative slope of the discriminator's LeakyReLU.
const leakySlope = 0.2

// Generator maps noise z [batch, NoiseSize] to images
// [batch, 64, 64, 3] in [-1, 1].
func Generator(scope *model.Scope, cfg Config, z *Node) *Node {
	batch := z.Shape().Dim(0)
	useBias := cfg.Norm == layers.NormNone
	topChannels := 8 * cfg.ConvDim

	fcScope := scope.In("fc")
	h := layers.Dense(fcScope, z, 4*4*topChannels, useBias)
	h = Reshape(h, batch, 4, 4, topChannels) // [batch, 4, 4, 8*conv_dim]
	h = layers.ReLU(layers.Normalize(fcScope, h, cfg.Norm))

	for i, multiple := range []int{4, 2, 1} {
		blockScope := scope.In("up_conv%d", i+1)
		h = layers.UpConv(blockScope, h, multiple*cfg.ConvDim, 3, useBias)
		h = layers.ReLU(layers.Normalize(blockScope, h, cfg.Norm))
	}
	// [batch, 32, 32, conv_dim]

	h = layers.UpConv(scope.In("up_conv4"), h, 3, 3, true) // [batch, 64, 64, 3]
	return Tanh(h)
}

// Discriminator maps images [batch, 64, 64, 3] to one unbounded score per
// image, [batch]: near 1 for real and near 0 for fake under the
// least-squares loss.
func Discriminator(scope *model.Scope, cfg Config, x *Node) *Node {
	batch := x.Shape().Dim(0)
	useBias := cfg.Norm == layers.NormNone
	h := x
	for i, multiple := range []int{1, 2, 4, 8} {
		blockScope := scope.In("conv%d", i+1)
		h = layers.Conv(blockScope, h, multiple*cfg.ConvDim, 4, 2, 1, useBias)
		h = layers.LeakyReLU(layers.Normalize(blockScope, h, cfg.Norm), leakySlope)
	}
	// [batch, 4, 4, 8*conv_dim]

	h = layers.Conv(scope.In("conv5"), h, 1, 4, 1, 0, true) // [batch, 1, 1, 1]
	return Reshape(h, batch)
}

// adamFor returns the optimizer of one network. Each network keeps its own
// moments and step count under its own scope.
func adamFor(cfg Config, network string) optimizer.Interface {
	return optimizer.Adam().
		LearningRate(cfg.LearningRate).
		Betas(cfg.Beta1, cfg.Beta2).
		Scope("adam_" + network).
		Done()
}

// StepGraph builds one training iteration as one graph: the discriminator
// update, then the generator update against the updated discriminator.
// It returns the scalar losses D_real, D_fake and G, each computed before
// the update that minimizes it.
//
//   - D minimizes (mean((D(x)-1)^2) + mean(D(G(zD))^2)) / 2 on real
//     [batch, 64, 64, 3] and G(zD), with zD [batch, NoiseSize] and G(zD)
//     held constant. The 1/2 is the assignment's; with Adam it changes
//     the update only through Adam's epsilon.
//   - G then minimizes mean((D'(G(zG))-1)^2) for zG [batch, NoiseSize],
//     where D' is D with its updated weights, held constant.
//
// With a DiffAugment policy, real, G(zD) and G(zG) pass through it before
// D, with the per-sample draws uReal, uFake and uGenerated
// [batch, policy.RandomCount()]. Without a policy they are unused and may
// be nil.
//
// One graph lets the backend run the generator's forward pass on zG, which
// does not wait for D's update, beside D's backward pass. In alternating
// runs, DCGAN's step took about 5% less time than with one graph per
// update, on XLA and on the pure Go backend (see docs/benchmarks.md).
func StepGraph(scope *model.Scope, cfg Config, real, zD, zG, uReal, uFake, uGenerated *Node) (dRealLoss, dFakeLoss, gLoss *Node) {
	network := subScopes(scope)
	dRealLoss, dFakeLoss = discriminatorUpdate(network, cfg, real, zD, uReal, uFake)
	trainloop.FreezeVariables(network(DiscriminatorScope), real.Graph())
	gLoss = generatorUpdate(network, cfg, zG, uGenerated)
	return dRealLoss, dFakeLoss, gLoss
}

// discriminatorUpdate builds D's losses and its update (see StepGraph).
func discriminatorUpdate(network func(string) *model.Scope, cfg Config, real, zD, uReal, uFake *Node) (dRealLoss, dFakeLoss *Node) {
	fake := StopGradient(Generator(network(GeneratorScope), cfg, zD))
	if uReal != nil {
		policy := mustPolicy(cfg)
		real = policy.Apply(real, uReal)
		fake = policy.Apply(fake, uFake)
	}
	dReal := Discriminator(network(DiscriminatorScope), cfg, real)
	dFake := Discriminator(network(DiscriminatorScope), cfg, fake)
	dRealLoss = ReduceAllMean(Square(AddScalar(dReal, -1)))
	dFakeLoss = ReduceAllMean(Square(dFake))
	dLoss := MulScalar(Add(dRealLoss, dFakeLoss), 0.5)
	adamFor(cfg, DiscriminatorScope).UpdateGraph(network(DiscriminatorScope), dLoss.Graph(), dLoss)
	return dRealLoss, dFakeLoss
}

// generatorUpdate builds G's loss and its update (see StepGraph).
func generatorUpdate(network func(string) *model.Scope, cfg Config, zG, uGenerated *Node) (gLoss *Node) {
	generated := Generator(network(GeneratorScope), cfg, zG)
	if uGenerated != nil {
		generated = mustPolicy(cfg).Apply(generated, uGenerated)
	}
	dGenerated := Discriminator(network(DiscriminatorScope), cfg, generated)
	gLoss = ReduceAllMean(Square(AddScalar(dGenerated, -1)))
	adamFor(cfg, GeneratorScope).UpdateGraph(network(GeneratorScope), gLoss.Graph(), gLoss)
	return gLoss
}

// subScopes returns a function that gives the named sub-scope of scope: In
// on the first call for a name and Shared after it, since a network applied
// several times in one graph must reuse its variables.
func subScopes(scope *model.Scope) func(name string) *model.Scope {
	visited := make(map[string]bool)
	return func(name string) *model.Scope {
		if visited[name] {
			return scope.Shared("%s", name)
		}
		visited[name] = true
		return scope.In("%s", name)
	}
}

// ForwardMACs returns the multiply-accumulates of one forward pass of each
// network for one image, counting the dense and convolution layers only
// (norms and activations are cheap next to them).
func (c Config) ForwardMACs() (generator, discriminator int64) {
	d := int64(c.ConvDim)
	generator = int64(c.NoiseSize) * 16 * 8 * d // dense to [4, 4, 8*conv_dim]
	inChannels, side := 8*d, int64(4)
	for _, outChannels := range []int64{4 * d, 2 * d, d, 3} {
		side *= 2
		generator += side * side * outChannels * inChannels * 9
		inChannels = outChannels
	}
	inChannels, side = 3, int64(ImageSize)
	for _, outChannels := range []int64{d, 2 * d, 4 * d, 8 * d} {
		side /= 2
		discriminator += side * side * outChannels * inChannels * 16
		inChannels = outChannels
	}
	discriminator += inChannels * 16 // the 4x4 output convolution
	return generator, discriminator
}

// StepFLOPs returns the floating point operations of one training iteration
// (Trainer.Step) for a batch, counted as 2 per forward MAC and 4 per
// backward MAC. The D update runs D on real, G and D on fake, and
// backpropagates through D twice. The G update runs G and D and
// backpropagates through both.
func (c Config) StepFLOPs() int64 {
	g, d := c.ForwardMACs()
	forward := 3*d + 2*g
	backward := 3*d + g
	return int64(c.BatchSize) * (2*forward + 4*backward)
}

// mustPolicy parses cfg.DiffAugment, which Validate has checked, panicking
// inside graph building otherwise.
func mustPolicy(cfg Config) augment.Policy {
	policy, err := augment.Parse(cfg.DiffAugment)
	if err != nil {
		panic(err)
	}
	return policy
}
