package gan

import (
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/catsynth/catsynth/augment"
	"github.com/catsynth/catsynth/layers"
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

// DiscriminatorStepGraph builds the discriminator update of one iteration:
// D minimizes mean((D(x)-1)^2) + mean(D(G(z))^2) on real [batch, 64, 64, 3]
// and G(zD), with zD [batch, NoiseSize]. It returns the scalar losses D_real
// and D_fake, computed before the update.
//
// The discriminator and generator updates are two graphs because the
// generator's update must see the updated discriminator. GoMLX v0.28.2
// rejects differentiating a graph in which an op without a gradient (the
// Pad inside a strided Slice's gradient) precedes the loss, even off the
// path to the variables.
//
// With a DiffAugment policy, real and fake pass through it before D, with
// the per-sample draws uReal and uFake [batch, policy.RandomCount()].
// Without a policy they are unused and may be nil.
func DiscriminatorStepGraph(scope *model.Scope, cfg Config, real, zD, uReal, uFake *Node) (dRealLoss, dFakeLoss *Node) {
	network := subScopes(scope)
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
	dLoss := Add(dRealLoss, dFakeLoss)
	adamFor(cfg, DiscriminatorScope).UpdateGraph(network(DiscriminatorScope), dLoss.Graph(), dLoss)
	return dRealLoss, dFakeLoss
}

// GeneratorStepGraph builds the generator update of one iteration: G
// minimizes mean((D(G(zG))-1)^2) for zG [batch, NoiseSize]. It returns that
// scalar loss, computed before the update.
//
// With a DiffAugment policy, the generated images pass through it before D,
// with the draws uGenerated [batch, policy.RandomCount()]. Without a policy
// it is unused and may be nil.
func GeneratorStepGraph(scope *model.Scope, cfg Config, zG, uGenerated *Node) (gLoss *Node) {
	network := subScopes(scope)
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
