package repo

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFindModuleRoot(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module "+ModulePath+"\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	nested := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(nested, 0o755); err != nil {
		t.Fatal(err)
	}
	// A go.mod of another module in between is passed over.
	if err := os.WriteFile(filepath.Join(root, "a", "go.mod"), []byte("module example.com/other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, ok := FindModuleRoot(nested)
	if !ok || got != root {
		t.Errorf("FindModuleRoot(%s) = %q, %v; want %q", nested, got, ok, root)
	}
	if _, ok := FindModuleRoot(t.TempDir()); ok {
		t.Error("FindModuleRoot found a root in a folder without a catsynth go.mod")
	}
}

func TestRootFindsThisRepository(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "repo", "repo.go")); err != nil {
		t.Errorf("Root() = %s, which has no repo/repo.go: %v", root, err)
	}
}
