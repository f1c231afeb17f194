module github.com/catsynth/catsynth

go 1.26.5
