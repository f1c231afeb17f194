// Package trainlog writes and reads the loss log of a training run: a CSV
// file whose header is "step,<column>,..." and whose rows hold an integer
// step and one float64 per column.
//
// Values are written with the shortest decimal form that reads back to the
// same float64, and NaN and ±Inf are written as NaN, +Inf and -Inf. The
// [Writer] only ever writes whole lines to the file, and [Read] ignores a
// last line that lacks its newline, so a log can be read while a run is
// still appending to it.
package trainlog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// flushThreshold is the buffered size in bytes at which Append writes the buffer to the file.
const flushThreshold = 64 << 10

// Writer appends rows to a log file. It is not safe for concurrent use.
type Writer struct {
	path    string
	columns []string
	file    *os.File
	buffer  bytes.Buffer
}

// Open opens the log at path for appending rows of the given value columns
// (the "step" column is implicit). If the file exists, its header must be
// exactly "step," followed by columns joined with commas. A last line
// without a newline, left by a crash, is removed. Otherwise Open creates the
// file and writes the header. Column names must be non-empty, unique, not
// "step", and free of commas, quotes and line breaks.
func Open(path string, columns []string) (*Writer, error) {
	if err := checkColumns(columns); err != nil {
		return nil, fmt.Errorf("trainlog: %s: %w", path, err)
	}
	header := headerLine(columns)

	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		data = nil
	case err != nil:
		return nil, fmt.Errorf("trainlog: %w", err)
	}

	if len(data) > 0 {
		existing, _, _ := strings.Cut(string(data), "\n")
		existing = strings.TrimSuffix(existing, "\r")
		if existing != header {
			return nil, fmt.Errorf("trainlog: %s has header %q, but this run logs %q: use another output folder, or move the old log away to start a new one",
				path, existing, header)
		}
	}

	file, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("trainlog: %w", err)
	}
	w := &Writer{path: path, columns: append([]string(nil), columns...), file: file}
	if err := w.prepareEnd(data, header); err != nil {
		file.Close()
		return nil, err
	}
	return w, nil
}

// prepareEnd writes the header to an empty file, or cuts an unfinished last
// line, and then moves the file offset to the end.
func (w *Writer) prepareEnd(data []byte, header string) error {
	end := int64(len(data))
	switch {
	case len(data) == 0:
		if _, err := w.file.WriteString(header + "\n"); err != nil {
			return fmt.Errorf("trainlog: write header of %s: %w", w.path, err)
		}
		return nil
	case data[len(data)-1] != '\n':
		newline := bytes.LastIndexByte(data, '\n')
		if newline < 0 {
			// Only the header, without its newline.
			if _, err := w.file.WriteAt([]byte("\n"), end); err != nil {
				return fmt.Errorf("trainlog: repair %s: %w", w.path, err)
			}
			end++
		} else {
			end = int64(newline + 1)
			if err := w.file.Truncate(end); err != nil {
				return fmt.Errorf("trainlog: remove the unfinished last line of %s: %w", w.path, err)
			}
		}
	}
	if _, err := w.file.Seek(end, 0); err != nil {
		return fmt.Errorf("trainlog: %w", err)
	}
	return nil
}

// Path returns the file the writer appends to.
func (w *Writer) Path() string { return w.path }

// Columns returns the value column names (without "step").
func (w *Writer) Columns() []string { return append([]string(nil), w.columns...) }

// Append buffers one row. It takes exactly one value per column. Rows are
// written to the file by Flush, Close, or once the buffer passes 64 KiB.
// Append does not check that steps increase.
func (w *Writer) Append(step int, values ...float64) error {
	if w.file == nil {
		return fmt.Errorf("trainlog: append to %s after Close", w.path)
	}
	if len(values) != len(w.columns) {
		return fmt.Errorf("trainlog: append to %s: got %d values, want %d (%s)",
			w.path, len(values), len(w.columns), strings.Join(w.columns, ", "))
	}
	w.buffer.WriteString(strconv.Itoa(step))
	for _, v := range values {
		w.buffer.WriteByte(',')
		w.buffer.WriteString(formatValue(v))
	}
	w.buffer.WriteByte('\n')
	if w.buffer.Len() >= flushThreshold {
		return w.Flush()
	}
	return nil
}

// Flush writes the buffered rows to the file in one write. Flush of a nil
// Writer does nothing.
func (w *Writer) Flush() error {
	if w == nil || w.file == nil || w.buffer.Len() == 0 {
		return nil
	}
	_, err := w.file.Write(w.buffer.Bytes())
	w.buffer.Reset()
	if err != nil {
		return fmt.Errorf("trainlog: write %s: %w", w.path, err)
	}
	return nil
}

// Close flushes the buffered rows and closes the file. Calling Close again,
// or on a nil Writer, does nothing.
func (w *Writer) Close() error {
	if w == nil || w.file == nil {
		return nil
	}
	flushErr := w.Flush()
	closeErr := w.file.Close()
	w.file = nil
	if flushErr != nil {
		return flushErr
	}
	if closeErr != nil {
		return fmt.Errorf("trainlog: close %s: %w", w.path, closeErr)
	}
	return nil
}

// OpenAt opens the log at path as Open does and cuts it back to step with
// TruncateAfter, as a run that resumes from a checkpoint taken at step
// needs. On an error it closes the file again.
func OpenAt(path string, columns []string, step int) (*Writer, error) {
	w, err := Open(path, columns)
	if err != nil {
		return nil, err
	}
	if err := w.TruncateAfter(step); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

// TruncateAfter removes every row whose step is greater than step, keeping
// the header and all other rows in their order. Call it when resuming from
// a checkpoint taken at step, so the rows logged after that checkpoint are
// not duplicated. It flushes first, rewrites the file through a temporary
// file and a rename, and leaves the file unchanged if any row is malformed.
func (w *Writer) TruncateAfter(step int) error {
	if w.file == nil {
		return fmt.Errorf("trainlog: truncate %s after Close", w.path)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	data, err := os.ReadFile(w.path)
	if err != nil {
		return fmt.Errorf("trainlog: %w", err)
	}
	kept, err := keepThrough(w.path, data, step)
	if err != nil {
		return err
	}
	if len(kept) == len(data) {
		return nil
	}
	if err := replaceFile(w.path, kept); err != nil {
		return err
	}

	// The rename replaced the file, so the old handle points at the old content.
	file, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("trainlog: reopen %s: %w", w.path, err)
	}
	w.file.Close()
	w.file = file
	return nil
}

// checkColumns validates the value column names.
func checkColumns(columns []string) error {
	if len(columns) == 0 {
		return errors.New("no columns given: a log needs at least one value column")
	}
	seen := map[string]bool{}
	for _, c := range columns {
		switch {
		case c == "":
			return errors.New("invalid empty column name")
		case c == "step":
			return errors.New(`invalid column name "step": the step column is added automatically`)
		case strings.ContainsAny(c, ",\"\r\n"):
			return fmt.Errorf("invalid column name %q: names must not contain commas, quotes or line breaks", c)
		case seen[c]:
			return fmt.Errorf("duplicate column name %q", c)
		}
		seen[c] = true
	}
	return nil
}

func headerLine(columns []string) string { return "step," + strings.Join(columns, ",") }

// formatValue writes v in the shortest form that parses back to v.
func formatValue(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
