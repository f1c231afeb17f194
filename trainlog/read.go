package trainlog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/catsynth/catsynth/plot"
)

// Table is the content of a log. Values[c][i] is the value of column
// Columns[c] at row i, whose step is Steps[i].
type Table struct {
	Columns []string
	Steps   []int
	Values  [][]float64
}

// Read parses the log at path. A last line without a newline is treated as
// a row still being written and is ignored. Any other malformed line is an
// error naming the file and the line number.
func Read(path string) (*Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("trainlog: %w", err)
	}
	lines := completeLines(data)
	if len(lines) == 0 {
		// A header without a newline is still a header.
		if len(data) == 0 {
			return nil, fmt.Errorf("trainlog: %s is empty: want a header line starting with \"step,\"", path)
		}
		lines = []string{string(data)}
	}

	header := strings.Split(lines[0], ",")
	if len(header) < 2 || header[0] != "step" {
		return nil, fmt.Errorf("trainlog: %s:1: invalid header %q: want \"step,\" followed by column names", path, lines[0])
	}
	table := &Table{Columns: header[1:], Values: make([][]float64, len(header)-1)}
	for i, line := range lines[1:] {
		number := i + 2
		fields := strings.Split(line, ",")
		if len(fields) != len(header) {
			return nil, fmt.Errorf("trainlog: %s:%d: got %d fields, want %d (%s)", path, number, len(fields), len(header), lines[0])
		}
		step, err := strconv.Atoi(fields[0])
		if err != nil {
			return nil, fmt.Errorf("trainlog: %s:%d: invalid step %q: want an integer", path, number, fields[0])
		}
		table.Steps = append(table.Steps, step)
		for c, field := range fields[1:] {
			v, err := strconv.ParseFloat(field, 64)
			if err != nil {
				return nil, fmt.Errorf("trainlog: %s:%d: invalid value %q in column %q: want a number, NaN or ±Inf",
					path, number, field, table.Columns[c])
			}
			table.Values[c] = append(table.Values[c], v)
		}
	}
	return table, nil
}

// Series returns a column as a plot series named after it, with X = steps.
func (t *Table) Series(column string) (plot.Series, error) {
	for c, name := range t.Columns {
		if name != column {
			continue
		}
		s := plot.Series{Name: name, X: make([]float64, len(t.Steps)), Y: append([]float64(nil), t.Values[c]...)}
		for i, step := range t.Steps {
			s.X[i] = float64(step)
		}
		return s, nil
	}
	return plot.Series{}, fmt.Errorf("trainlog: column %q not found: the log has the columns %s", column, strings.Join(t.Columns, ", "))
}

// completeLines returns the newline-terminated lines of data without their
// line endings ("\n" or "\r\n").
func completeLines(data []byte) []string {
	end := bytes.LastIndexByte(data, '\n')
	if end < 0 {
		return nil
	}
	lines := strings.Split(string(data[:end]), "\n")
	for i, line := range lines {
		lines[i] = strings.TrimSuffix(line, "\r")
	}
	return lines
}

// keepThrough returns data without the rows whose step is greater than step
// and without an unfinished last line. It returns an error naming the line
// if a row's step does not parse, so no row is dropped by mistake.
func keepThrough(path string, data []byte, step int) ([]byte, error) {
	end := bytes.LastIndexByte(data, '\n')
	if end < 0 {
		return data, nil
	}
	var out bytes.Buffer
	for i, line := range bytes.SplitAfter(data[:end+1], []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if i == 0 {
			out.Write(line)
			continue
		}
		field, _, _ := strings.Cut(strings.TrimRight(string(line), "\r\n"), ",")
		rowStep, err := strconv.Atoi(field)
		if err != nil {
			return nil, fmt.Errorf("trainlog: %s:%d: invalid step %q, so the log is left unchanged: fix or remove that line",
				path, i+1, field)
		}
		if rowStep <= step {
			out.Write(line)
		}
	}
	return out.Bytes(), nil
}

// replaceFile writes data to a temporary file next to path and renames it
// over path, so path contains either its old or its new content.
func replaceFile(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("trainlog: rewrite %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	_, writeErr := tmp.Write(data)
	err = errors.Join(writeErr, tmp.Chmod(0o644), tmp.Sync(), tmp.Close())
	if err != nil {
		return fmt.Errorf("trainlog: rewrite %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("trainlog: rewrite %s: %w", path, err)
	}
	return nil
}
