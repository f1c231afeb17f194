package dataset

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/catsynth/catsynth/repo"
)

// Folders of the two cat domains, relative to a data root.
const (
	// GrumpyDir contains the Grumpy cats: domain Y of CycleGAN and the DCGAN training set.
	GrumpyDir = "cats/grumpifyBprocessed"
	// RussianBlueDir contains the Russian Blue cats: domain X of CycleGAN.
	RussianBlueDir = "cats/grumpifyAprocessed"
)

// EnvVar is the environment variable that points to a data root.
const EnvVar = "CATSYNTH_DATA"

// layoutHint is the advice on where the images go. It ends every error
// about missing data.
const layoutHint = "put the cat images under a data root as <root>/" + GrumpyDir + "/*.png and <root>/" +
	RussianBlueDir + "/*.png, and name that root with the commands' -data flag, a notebook's dataRoot setting or " + EnvVar +
	" (without any of them, the root is data/ in the repository)"

// Root returns the data root folder. It uses, in order: explicit if it is not
// empty, the CATSYNTH_DATA environment variable if it is set, and the data/
// folder of the repository. The repository root is the nearest folder above
// the working directory whose go.mod declares the catsynth module. If there
// is none, the search starts again from this source file's folder.
//
// Root does not check that the explicit or environment path exists or holds
// the cat folders; [Load] reports that. It returns an error only when the
// repository fallback finds no repository or no data/ folder in it.
func Root(explicit string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	if env := os.Getenv(EnvVar); env != "" {
		return env, nil
	}

	root, err := repo.Root()
	if err != nil {
		return "", fmt.Errorf("dataset: no data root found: %s is not set and %w. To fix this, %s", EnvVar, err, layoutHint)
	}
	data := filepath.Join(root, "data")
	info, err := os.Stat(data)
	if err != nil || !info.IsDir() {
		return "", fmt.Errorf("dataset: no data root found: %s is not set and %s does not exist. To fix this, %s",
			EnvVar, data, layoutHint)
	}
	return data, nil
}
