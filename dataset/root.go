package dataset

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
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

// modulePath identifies the catsynth go.mod when searching for the repository root.
const modulePath = "github.com/catsynth/catsynth"

// layoutHint is where the images go. It ends every error about missing data.
const layoutHint = "put the cat images under a data root as <root>/" + GrumpyDir + "/*.png and <root>/" +
	RussianBlueDir + "/*.png (the root defaults to data/ in the repository), or set " + EnvVar +
	" to a data root elsewhere"

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

	repo, err := repositoryRoot()
	if err != nil {
		return "", err
	}
	data := filepath.Join(repo, "data")
	info, err := os.Stat(data)
	if err != nil || !info.IsDir() {
		return "", fmt.Errorf("dataset: no data root found: %s is not set and %s does not exist. To fix this, %s",
			EnvVar, data, layoutHint)
	}
	return data, nil
}

// repositoryRoot finds the folder holding the catsynth go.mod.
func repositoryRoot() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	for _, start := range starts {
		if root, ok := findModuleRoot(start); ok {
			return root, nil
		}
	}
	return "", errors.New("dataset: no data root found: " + EnvVar +
		" is not set and no catsynth repository (a go.mod declaring module " + modulePath +
		") contains the working directory. To fix this, " + layoutHint)
}

// findModuleRoot walks up from dir to the first folder whose go.mod declares modulePath.
func findModuleRoot(dir string) (string, bool) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	for {
		if declaresModule(filepath.Join(dir, "go.mod")) {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// declaresModule reports whether the go.mod at path has the line "module github.com/catsynth/catsynth".
func declaresModule(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()

	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) == 2 && fields[0] == "module" && strings.Trim(fields[1], `"`) == modulePath {
			return true
		}
	}
	return false
}
