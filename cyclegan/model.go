package cyclegan

import (
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/catsynth/catsynth/augment"
	"github.com/catsynth/catsynth/gan"
	"github.com/catsynth/catsynth/layers"
	"github.com/catsynth/catsynth/trainloop"
)

// Scope names in the model store. The two generators live under
// GeneratorsScope and the two discriminators under DiscriminatorsScope, so
// that one optimizer updates each pair.
const (
	GeneratorsScope     = "G"
	DiscriminatorsScope = "D"
	GXY                 = "G_XY"
	GYX                 = "G_YX"
	DX                  = "D_X"
	DY                  = "D_Y"
)

// leakySlope is the negative slope of the patch discriminator's LeakyReLU,
// the same as the DCGAN discriminator's.
const leakySlope = 0.2

// Generator translates images x [batch, 64, 64, 3] in [-1, 1] to the other
// domain, [batch, 64, 64, 3] in [-1, 1].
func Generator(scope *model.Scope, cfg Config, x *Node) *Node {
	useBias := cfg.Norm == layers.NormNone
	h := x
	for i, multiple := range []int{1, 2} {
		blockScope := scope.In("conv%d", i+1)
		h = layers.Conv(blockScope, h, multiple*cfg.ConvDim, 4, 2, 1, useBias)
		h = layers.ReLU(layers.Normalize(blockScope, h, cfg.Norm))
	}
	// [batch, 16, 16, 2*conv_dim]

	for i := range cfg.ResBlocks {
		blockScope := scope.In("res%d", i+1)
		residual := layers.Conv(blockScope, h, 2*cfg.ConvDim, 3, 1, 1, useBias)
		h = Add(h, layers.ReLU(layers.Normalize(blockScope, residual, cfg.Norm)))
	}

	upScope := scope.In("up_conv1")
	h = layers.UpConv(upScope, h, cfg.ConvDim, 3, useBias)
	h = layers.ReLU(layers.Normalize(upScope, h, cfg.Norm)) // [batch, 32, 32, conv_dim]

	h = layers.UpConv(scope.In("up_conv2"), h, 3, 3, true) // [batch, 64, 64, 3]
	if cfg.FinalConv {
		h = layers.Conv(scope.In("final_conv"), h, 3, 3, 1, 1, true)
	}
	return Tanh(h)
}

// PatchDiscriminator maps images x [batch, 64, 64, 3] to a map of scores
// [batch, 4, 4], one per overlapping patch of the input. It applies four
// 4x4 stride-2 convolutions to conv_dim, 2*, 4*conv_dim and 1 channel, the
// first three followed by norm and LeakyReLU(0.2).
func PatchDiscriminator(scope *model.Scope, cfg Config, x *Node) *Node {
	useBias := cfg.Norm == layers.NormNone
	h := x
	for i, multiple := range []int{1, 2, 4} {
		blockScope := scope.In("conv%d", i+1)
		h = layers.Conv(blockScope, h, multiple*cfg.ConvDim, 4, 2, 1, useBias)
		h = layers.LeakyReLU(layers.Normalize(blockScope, h, cfg.Norm), leakySlope)
	}
	h = layers.Conv(scope.In("conv4"), h, 1, 4, 2, 1, true) // [batch, 4, 4, 1]
	return Squeeze(h, -1)
}

// Discriminator applies the discriminator kind of cfg to x
// [batch, 64, 64, 3]: [batch] scores for "dc", [batch, 4, 4] for "patch".
func Discriminator(scope *model.Scope, cfg Config, x *Node) *Node {
	if cfg.Discriminator == DiscriminatorDC {
		return gan.Discriminator(scope, gan.Config{ConvDim: cfg.ConvDim, Norm: cfg.Norm}, x)
	}
	return PatchDiscriminator(scope, cfg, x)
}

// networks gives the scope of each of the four networks, visiting each
// with In the first time and Shared after it, since a network applied
// several times in one graph must reuse its variables.
type networks struct {
	parents map[string]*model.Scope
	visited map[string]bool
}

func newNetworks(scope *model.Scope) *networks {
	return &networks{
		parents: map[string]*model.Scope{
			GeneratorsScope:     scope.In(GeneratorsScope),
			DiscriminatorsScope: scope.In(DiscriminatorsScope),
		},
		visited: make(map[string]bool),
	}
}

// parent returns the scope of the generators or of the discriminators.
func (n *networks) parent(name string) *model.Scope { return n.parents[name] }

// get returns the scope of the network G_XY, G_YX, D_X or D_Y.
func (n *networks) get(name string) *model.Scope {
	parent := n.parents[DiscriminatorsScope]
	if name == GXY || name == GYX {
		parent = n.parents[GeneratorsScope]
	}
	if n.visited[name] {
		return parent.Shared("%s", name)
	}
	n.visited[name] = true
	return parent.In("%s", name)
}

// adamFor returns the optimizer of one pair of networks. Adam is applied
// per variable, so one optimizer on the sum of the two losses of a pair
// updates each network exactly as its own optimizer on its own loss would.
func adamFor(cfg Config, pair string) optimizer.Interface {
	return optimizer.Adam().
		LearningRate(cfg.LearningRate).
		Betas(cfg.Beta1, cfg.Beta2).
		Scope("adam_" + pair).
		Done()
}

// leastSquares returns mean((scores - target)^2) for a target of 0 or 1.
func leastSquares(scores *Node, target float64) *Node {
	return ReduceAllMean(Square(AddScalar(scores, -target)))
}

// distance returns the mean squared ("mse") or mean absolute ("l1")
// difference of a and b, a scalar.
func distance(cfg Config, a, b *Node) *Node {
	diff := Sub(a, b)
	if cfg.CycleNorm == CycleL1 {
		return ReduceAllMean(Abs(diff))
	}
	return ReduceAllMean(Square(diff))
}

// StepGraph builds one training iteration on realX and realY
// [batch, 64, 64, 3] as one graph: the update of D_X and D_Y, then the
// joint update of G_XY and G_YX against the updated discriminators. It
// returns the scalar losses D_X and D_Y and the generator losses, each
// computed before the update that minimizes it.
//
//   - Each discriminator minimizes mean((D(real)-1)^2) + mean(D(fake)^2),
//     with fakeX = G_YX(realY) and fakeY = G_XY(realX) held constant.
//   - The generators then minimize the losses of GeneratorLossesGraph,
//     with the updated discriminators held constant.
//
// The generators' update reuses the fakes that the discriminators saw.
// Weights and inputs are the same in both updates, and so are the fakes,
// so the step runs G_XY and G_YX forward on realX and realY only once. One
// graph also lets the backend run independent parts of the two updates
// side by side.
//
// With a DiffAugment policy (cfg.DiffAugment), the four discriminator
// inputs of the first update pass through it, with the draws uD
// [4*batch, policy.RandomCount()]: rows in blocks of batch for realX,
// fakeX, realY and fakeY, in that order. The fakes of the second update
// pass through it with the draws uG (see GeneratorLossesGraph). Without a
// policy uD and uG are unused and may be nil. Trainer draws them per
// iteration, seeded.
func StepGraph(scope *model.Scope, cfg Config, realX, realY, uD, uG *Node) (dXLoss, dYLoss *Node, losses GeneratorLosses) {
	network := newNetworks(scope)
	fakeY := Generator(network.get(GXY), cfg, realX)
	fakeX := Generator(network.get(GYX), cfg, realY)
	dXLoss, dYLoss = discriminatorUpdate(network, cfg, realX, realY, StopGradient(fakeX), StopGradient(fakeY), uD)
	losses = generatorUpdate(network, cfg, realX, realY, fakeX, fakeY, uG)
	return dXLoss, dYLoss, losses
}

// PoolStepGraph is StepGraph with the discriminators' fakes shownX and
// shownY [batch, 64, 64, 3] given as inputs: the ones a pool of past fakes
// picked. The generators' update computes its own fakes.
func PoolStepGraph(scope *model.Scope, cfg Config, realX, realY, shownX, shownY, uD, uG *Node) (dXLoss, dYLoss *Node, losses GeneratorLosses) {
	network := newNetworks(scope)
	dXLoss, dYLoss = discriminatorUpdate(network, cfg, realX, realY, shownX, shownY, uD)
	fakeY := Generator(network.get(GXY), cfg, realX)
	fakeX := Generator(network.get(GYX), cfg, realY)
	losses = generatorUpdate(network, cfg, realX, realY, fakeX, fakeY, uG)
	return dXLoss, dYLoss, losses
}

// generatorUpdate cuts the gradient of the discriminators' weights,
// updated earlier in the graph, then builds the generator losses on the
// fakes and the generators' update.
func generatorUpdate(network *networks, cfg Config, realX, realY, fakeX, fakeY, uG *Node) GeneratorLosses {
	g := realX.Graph()
	trainloop.FreezeVariables(network.parent(DiscriminatorsScope), g)
	losses, total := generatorLosses(network, cfg, realX, realY, fakeX, fakeY, uG)
	adamFor(cfg, GeneratorsScope).UpdateGraph(network.parent(GeneratorsScope), g, total)
	return losses
}

// discriminatorUpdate builds the losses of D_X and D_Y and their update.
func discriminatorUpdate(network *networks, cfg Config, realX, realY, fakeX, fakeY, u *Node) (dXLoss, dYLoss *Node) {
	seen := diffAugment(cfg, u, realX, fakeX, realY, fakeY)
	realX, fakeX, realY, fakeY = seen[0], seen[1], seen[2], seen[3]
	dXLoss = Add(leastSquares(Discriminator(network.get(DX), cfg, realX), 1),
		leastSquares(Discriminator(network.get(DX), cfg, fakeX), 0))
	dYLoss = Add(leastSquares(Discriminator(network.get(DY), cfg, realY), 1),
		leastSquares(Discriminator(network.get(DY), cfg, fakeY), 0))

	total := Add(dXLoss, dYLoss)
	adamFor(cfg, DiscriminatorsScope).UpdateGraph(network.parent(DiscriminatorsScope), total.Graph(), total)
	return dXLoss, dYLoss
}

// diffAugment applies cfg's DiffAugment policy to each batch of images
// [batch, 64, 64, 3], the i-th with rows [i*batch, (i+1)*batch) of u. It
// returns images unchanged when u is nil or the policy is empty.
func diffAugment(cfg Config, u *Node, images ...*Node) []*Node {
	policy, err := augment.Parse(cfg.DiffAugment)
	if err != nil {
		panic(err) // Validate has checked the policy.
	}
	if u == nil || len(policy) == 0 {
		return images
	}
	out := make([]*Node, len(images))
	for i, x := range images {
		batch := x.Shape().Dim(0)
		out[i] = policy.Apply(x, Slice(u, AxisRange(i*batch, (i+1)*batch)))
	}
	return out
}

// GeneratorLosses are the scalar losses of the joint generator update.
type GeneratorLosses struct {
	// GXY is mean((D_Y(fakeY)-1)^2) and GYX is mean((D_X(fakeX)-1)^2).
	GXY, GYX *Node
	// Cycle is dist(realX, recX) + dist(realY, recY), before the
	// lambda_cycle weight.
	Cycle *Node
	// Identity is dist(G_XY(realY), realY) + dist(G_YX(realX), realX),
	// before the lambda_identity weight; a constant 0 when that weight is 0.
	Identity *Node
}

// GeneratorLossesGraph computes the generator losses on realX and realY
// [batch, 64, 64, 3] and their weighted sum, the total that the joint
// generator update minimizes. When lambda_cycle is 0 the cycle loss is
// still computed but cut from the gradient.
//
// With a DiffAugment policy, the fakes pass through it before the
// discriminators (not before the cycle and identity losses), with the draws
// u [2*batch, policy.RandomCount()]: rows in blocks of batch for fakeX and
// fakeY. Without a policy u is unused and may be nil.
func GeneratorLossesGraph(scope *model.Scope, cfg Config, realX, realY, u *Node) (losses GeneratorLosses, total *Node) {
	network := newNetworks(scope)
	fakeY := Generator(network.get(GXY), cfg, realX)
	fakeX := Generator(network.get(GYX), cfg, realY)
	return generatorLosses(network, cfg, realX, realY, fakeX, fakeY, u)
}

// generatorLosses is GeneratorLossesGraph on the fakes fakeX = G_YX(realY)
// and fakeY = G_XY(realX).
func generatorLosses(network *networks, cfg Config, realX, realY, fakeX, fakeY, u *Node) (losses GeneratorLosses, total *Node) {
	translateXY := func(x *Node) *Node { return Generator(network.get(GXY), cfg, x) }
	translateYX := func(y *Node) *Node { return Generator(network.get(GYX), cfg, y) }
	seen := diffAugment(cfg, u, fakeX, fakeY)
	losses.GXY = leastSquares(Discriminator(network.get(DY), cfg, seen[1]), 1)
	losses.GYX = leastSquares(Discriminator(network.get(DX), cfg, seen[0]), 1)
	total = Add(losses.GXY, losses.GYX)

	losses.Cycle = cycleLoss(cfg, realX, realY, fakeX, fakeY, translateXY, translateYX)
	if cfg.LambdaCycle > 0 {
		total = Add(total, MulScalar(losses.Cycle, cfg.LambdaCycle))
	} else {
		losses.Cycle = StopGradient(losses.Cycle)
	}

	losses.Identity = ScalarZero(realX.Graph(), realX.DType())
	if cfg.LambdaIdentity > 0 {
		losses.Identity = Add(distance(cfg, realY, translateXY(realY)), distance(cfg, realX, translateYX(realX)))
		total = Add(total, MulScalar(losses.Identity, cfg.LambdaIdentity))
	}
	return losses, total
}

// cycleLoss returns dist(realX, recX) + dist(realY, recY), where
// recX = translateYX(fakeY) and recY = translateXY(fakeX).
func cycleLoss(cfg Config, realX, realY, fakeX, fakeY *Node, translateXY, translateYX func(*Node) *Node) *Node {
	recX := translateYX(fakeY)
	recY := translateXY(fakeX)
	return Add(distance(cfg, realX, recX), distance(cfg, realY, recY))
}
