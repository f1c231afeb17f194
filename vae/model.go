package vae

import (
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/catsynth/catsynth/layers"
)

// Scope names of the two networks in the model store.
const (
	EncoderScope = "encoder"
	DecoderScope = "decoder"
)

// leakySlope is the negative slope of the encoder's LeakyReLU.
const leakySlope = 0.2

// Encoder maps images x [batch, height, width, channels] (see
// Config.ImageShape) to the mean mu and the log-variance logvar of q(z|x),
// both [batch, LatentSize].
func Encoder(scope *model.Scope, cfg Config, x *Node) (mu, logvar *Node) {
	batch := x.Shape().Dim(0)
	useBias := cfg.Norm == layers.NormNone
	h := x
	for i := range cfg.blocks() {
		blockScope := scope.In("conv%d", i+1)
		h = layers.Conv(blockScope, h, (1<<i)*cfg.ConvDim, 4, 2, 1, useBias)
		h = layers.LeakyReLU(layers.Normalize(blockScope, h, cfg.Norm), leakySlope)
	}
	// [batch, side, side, 2^(blocks-1) * conv_dim], side 4 for cats and 7 for MNIST.
	h = Reshape(h, batch, -1)
	mu = layers.Dense(scope.In("mu"), h, cfg.LatentSize, true)
	logvar = layers.Dense(scope.In("logvar"), h, cfg.LatentSize, true)
	return mu, logvar
}

// Reparameterize returns z = mu + exp(logvar/2) * eps, a sample of
// q(z|x) = N(mu, diag(exp(logvar))) for eps ~ N(0, I) of the same shape,
// through which gradients reach mu and logvar.
func Reparameterize(mu, logvar, eps *Node) *Node {
	return Add(mu, Mul(Exp(MulScalar(logvar, 0.5)), eps))
}

// Decoder maps z [batch, LatentSize] to the decoder's output
// [batch, height, width, channels]: tanh pixels in [-1, 1] for the cats,
// Bernoulli logits for MNIST (see Config.ImageShape).
func Decoder(scope *model.Scope, cfg Config, z *Node) *Node {
	batch := z.Shape().Dim(0)
	useBias := cfg.Norm == layers.NormNone
	height, _, channels := cfg.ImageShape()
	blocks := cfg.blocks()
	side := height >> blocks
	topChannels := (1 << (blocks - 1)) * cfg.ConvDim

	fcScope := scope.In("fc")
	h := layers.Dense(fcScope, z, side*side*topChannels, useBias)
	h = Reshape(h, batch, side, side, topChannels)
	h = layers.ReLU(layers.Normalize(fcScope, h, cfg.Norm))

	for i := blocks - 2; i >= 0; i-- {
		blockScope := scope.In("up_conv%d", blocks-1-i)
		h = layers.UpConv(blockScope, h, (1<<i)*cfg.ConvDim, 3, useBias)
		h = layers.ReLU(layers.Normalize(blockScope, h, cfg.Norm))
	}
	// [batch, height/2, width/2, conv_dim]

	h = layers.UpConv(scope.In("up_conv%d", blocks), h, channels, 3, true)
	if cfg.Dataset == MNIST {
		return h
	}
	return Tanh(h)
}

// DecodedImages converts the decoder's output to display pixels in [-1, 1]:
// unchanged for the cats, 2*sigmoid(logits)-1 (the Bernoulli means) for
// MNIST.
func DecodedImages(cfg Config, output *Node) *Node {
	if cfg.Dataset == MNIST {
		return AddScalar(MulScalar(Sigmoid(output), 2), -1)
	}
	return output
}

// KL returns KL(N(mu, diag(exp(logvar))) || N(0, I)) summed over the latent
// dimensions and averaged over the batch, for mu and logvar [batch, latent]:
// mean over the batch of 0.5 * sum(exp(logvar) + mu^2 - 1 - logvar). It is
// in nats.
func KL(mu, logvar *Node) *Node {
	terms := Sub(Add(Exp(logvar), Square(mu)), AddScalar(logvar, 1))
	perImage := MulScalar(ReduceSum(terms, 1), 0.5)
	return ReduceAllMean(perImage)
}

// ReconstructionLoss returns the reconstruction term of the negative ELBO
// for target images x and the decoder's output, both
// [batch, height, width, channels], summed over the values of one image and
// averaged over the batch:
//
//   - Cats: the squared error sum((x - output)^2). This is the negative
//     log-likelihood of a Gaussian decoder with variance 1/2, up to a
//     constant, so against the KL (in nats) it weighs as that Gaussian would.
//     A per-pixel mean instead would divide it by 12288 and let the KL
//     dominate, giving flat gray reconstructions.
//   - MNIST: the Bernoulli negative log-likelihood of x in {0, 1} under the
//     logits, sum(softplus(logits) - x*logits), in nats.
func ReconstructionLoss(cfg Config, x, output *Node) *Node {
	var perValue *Node
	if cfg.Dataset == MNIST {
		perValue = Sub(softplus(output), Mul(x, output))
	} else {
		perValue = Square(Sub(x, output))
	}
	batch := x.Shape().Dim(0)
	return ReduceAllMean(ReduceSum(Reshape(perValue, batch, -1), 1))
}

// softplus returns log(1 + exp(x)), computed as max(x, 0) + log1p(exp(-|x|))
// so that it neither overflows nor loses precision for large |x|.
func softplus(x *Node) *Node {
	return Add(Max(x, ZerosLike(x)), Log1p(Exp(Neg(Abs(x)))))
}

// ELBOGraph encodes x, samples z with eps [batch, LatentSize] and decodes it,
// returning the scalar reconstruction loss, KL, and total =
// reconstruction + beta * KL (the negative ELBO when beta is 1).
func ELBOGraph(scope *model.Scope, cfg Config, x, eps *Node) (reconstruction, kl, total *Node) {
	mu, logvar := Encoder(scope.In(EncoderScope), cfg, x)
	z := Reparameterize(mu, logvar, eps)
	output := Decoder(scope.In(DecoderScope), cfg, z)
	reconstruction = ReconstructionLoss(cfg, x, output)
	kl = KL(mu, logvar)
	total = Add(reconstruction, MulScalar(kl, cfg.Beta))
	return reconstruction, kl, total
}

// StepGraph builds one training step on x with noise eps: it computes the
// losses of ELBOGraph and updates both networks with Adam to minimize
// total. The losses are computed before the update.
func StepGraph(scope *model.Scope, cfg Config, x, eps *Node) (reconstruction, kl, total *Node) {
	reconstruction, kl, total = ELBOGraph(scope, cfg, x, eps)
	optimizer.Adam().
		LearningRate(cfg.LearningRate).
		Betas(cfg.Beta1, cfg.Beta2).
		Done().
		UpdateGraph(scope, total.Graph(), total)
	return reconstruction, kl, total
}

// ForwardMACs returns the multiply-accumulates of one forward pass of each
// network for one image, counting the dense and convolution layers only.
func (c Config) ForwardMACs() (encoder, decoder int64) {
	d := int64(c.ConvDim)
	latent := int64(c.LatentSize)
	height, _, channels := c.ImageShape()
	side := int64(height)
	inChannels := int64(channels)
	for i := range c.blocks() {
		side /= 2
		outChannels := (int64(1) << i) * d
		encoder += side * side * outChannels * inChannels * 16
		inChannels = outChannels
	}
	flat := side * side * inChannels
	encoder += 2 * flat * latent // mu and logvar

	decoder = latent * flat
	for i := c.blocks() - 2; i >= -1; i-- {
		side *= 2
		outChannels := int64(channels)
		if i >= 0 {
			outChannels = (int64(1) << i) * d
		}
		decoder += side * side * outChannels * inChannels * 9
		inChannels = outChannels
	}
	return encoder, decoder
}

// StepFLOPs returns the floating point operations of one training step
// (Trainer.Step) for a batch, counted as 2 per forward MAC and 4 per
// backward MAC of the dense and convolution layers.
func (c Config) StepFLOPs() int64 {
	e, d := c.ForwardMACs()
	return int64(c.BatchSize) * 6 * (e + d)
}
