// Package dataset loads the cat image folders used by catsynth and cuts them
// into shuffled, optionally augmented training batches.
//
// # Data layout
//
// A data root contains two folders of 64x64 RGB cat faces:
//
//	<root>/cats/grumpifyBprocessed/*.png   Grumpy cats (domain Y, the DCGAN training set)
//	<root>/cats/grumpifyAprocessed/*.png   Russian Blue cats (domain X)
//
// [Root] finds the root: an explicit path, else the CATSYNTH_DATA environment
// variable, else the data/ folder of the repository.
//
// # Loading policy
//
// [Load] reads every file whose extension is .png, .jpg or .jpeg (in any
// letter case), in natural numeric order (2.png before 10.png), so the image
// order and every batch built from it are reproducible.
//
//   - Files with other extensions, hidden files (names starting with ".") and
//     subfolders are skipped. They are listed in [Images.Skipped] with the
//     reason, and never cause an error.
//   - A file with an image extension that cannot be decoded is an error: the
//     folder is expected to contain only images, so a corrupt or truncated
//     file is reported instead of silently shrinking the data set.
//   - Gray, 16-bit, paletted, RGBA and NRGBA images are converted to 8-bit
//     RGB. Transparent pixels are composited over black, which is what the
//     alpha-premultiplied values of the image/color package give.
//   - Images of another size are resized to size x size with the Catmull-Rom
//     kernel. The aspect ratio is not kept: a non-square image is stretched.
//   - Each 8-bit value v becomes the float32 v/127.5 - 1, in [-1, 1].
//
// # Batches
//
// A [Loader] yields batches of shape [batchSize, size, size, 3] (NHWC,
// flattened). Each epoch is a new shuffle of all images. When fewer than
// batchSize images remain in an epoch, they are dropped and the next epoch
// starts, so a batch never mixes two epochs and never has padding. All
// randomness is derived from the seed and the batch (or epoch) index, so
// [Loader.Seek] can resume a run at any batch without replaying the ones
// before it.
package dataset
