// Package repo finds the root folder of the catsynth repository, from which
// the default data folder, the XLA plugin folder and the notebooks are
// located.
package repo

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// ModulePath is the module path declared by the repository's go.mod.
const ModulePath = "github.com/catsynth/catsynth"

// Root returns the folder that contains the catsynth go.mod. It walks up
// from the working directory, and failing that from this source file's
// folder. The second way also works for notebooks, whose cells are built in a
// temporary module that replaces the catsynth module with this repository.
func Root() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	for _, start := range starts {
		if root, ok := FindModuleRoot(start); ok {
			return root, nil
		}
	}
	return "", errors.New("repo: no catsynth repository (a go.mod declaring module " + ModulePath +
		") contains the working directory")
}

// FindModuleRoot walks up from dir to the first folder whose go.mod declares
// ModulePath.
func FindModuleRoot(dir string) (string, bool) {
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

// declaresModule reports whether the go.mod at path declares ModulePath.
func declaresModule(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()

	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) == 2 && fields[0] == "module" && strings.Trim(fields[1], `"`) == ModulePath {
			return true
		}
	}
	return false
}
