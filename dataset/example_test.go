package dataset_test

import (
	"fmt"
	"path/filepath"

	"github.com/catsynth/catsynth/dataset"
)

// Example loads the Grumpy cats and draws two augmented batches.
func Example() {
	root, err := dataset.Root("") // CATSYNTH_DATA or data/ in the repository
	if err != nil {
		fmt.Println(err)
		return
	}
	images, err := dataset.Load(filepath.Join(root, dataset.GrumpyDir), 64)
	if err != nil {
		fmt.Println(err)
		return
	}
	loader, err := dataset.NewLoader(images, 16, dataset.Deluxe, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	loader.Seek(100) // resume after 100 batches
	batch := loader.Next()
	fmt.Println(len(batch) == 16*64*64*3, loader.Position())
}
