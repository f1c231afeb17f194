package dataset

import (
	"fmt"
	"image"
	stddraw "image/draw"
	_ "image/jpeg" // registers the JPEG decoder for image.Decode
	_ "image/png"  // registers the PNG decoder for image.Decode
	"os"
	"path/filepath"
	"strings"

	xdraw "golang.org/x/image/draw"
)

// Images is a set of N RGB images of Size x Size pixels.
type Images struct {
	// Size is the height and width of every image, in pixels.
	Size int
	// Pixels contains the images in NHWC order, shape [N, Size, Size, 3], as
	// float32 values in [-1, 1]. len(Pixels) is N*Size*Size*3.
	Pixels []float32
	// Dir is the folder the images were loaded from.
	Dir string
	// Files is the file name (within Dir) of each image, in image order.
	Files []string
	// Skipped lists the entries of Dir that are not images, as "name: reason".
	Skipped []string
}

// Len returns the number of images N.
func (im *Images) Len() int {
	per := im.Size * im.Size * 3
	if per <= 0 {
		return 0
	}
	return len(im.Pixels) / per
}

// Image returns image i as a view into Pixels of shape [Size, Size, 3]
// (HWC). Writing to it changes the set, but appending to it does not.
func (im *Images) Image(i int) []float32 {
	per := im.Size * im.Size * 3
	return im.Pixels[i*per : (i+1)*per : (i+1)*per]
}

// Load reads the images of dir and returns them resized to size x size RGB.
// The package documentation describes which files are read, in what order,
// and how they are converted. size must be at least 1.
//
// Load returns an error if dir is missing, is not a folder, holds no image
// files, or holds an image file that fails to decode.
func Load(dir string, size int) (*Images, error) {
	if size < 1 {
		return nil, fmt.Errorf("dataset: invalid image size %d: it must be at least 1", size)
	}
	info, err := os.Stat(dir)
	if os.IsNotExist(err) {
		return nil, fmt.Errorf("dataset: image folder %s not found: %s", dir, layoutHint)
	}
	if err != nil {
		return nil, fmt.Errorf("dataset: failed to read image folder %s: %w", dir, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("dataset: %s is not a folder: pass the folder that contains the images. To fix the layout, %s",
			dir, layoutHint)
	}

	files, skipped, err := listImages(dir)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("dataset: image folder %s has no .png, .jpg or .jpeg files (%d other entries skipped): %s",
			dir, len(skipped), layoutHint)
	}

	per := size * size * 3
	images := &Images{
		Size:    size,
		Pixels:  make([]float32, len(files)*per),
		Dir:     dir,
		Files:   files,
		Skipped: skipped,
	}
	for i, name := range files {
		rgba, err := decodeRGBA(filepath.Join(dir, name), size)
		if err != nil {
			return nil, err
		}
		storePixels(images.Image(i), rgba)
	}
	return images, nil
}

// imageExtensions are the lower-case extensions that Load decodes.
var imageExtensions = map[string]bool{".png": true, ".jpg": true, ".jpeg": true}

// listImages returns the image file names of dir in natural order, and the
// skipped entries as "name: reason".
func listImages(dir string) (files, skipped []string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("dataset: failed to list image folder %s: %w", dir, err)
	}
	for _, entry := range entries {
		name := entry.Name()
		reason := ""
		switch {
		case strings.HasPrefix(name, "."):
			reason = "hidden file"
		case entry.IsDir():
			reason = "subfolder"
		case !imageExtensions[strings.ToLower(filepath.Ext(name))]:
			reason = "not a .png, .jpg or .jpeg file"
		default:
			// Stat follows symbolic links, so a link to a folder is skipped too.
			info, statErr := os.Stat(filepath.Join(dir, name))
			if statErr != nil {
				return nil, nil, fmt.Errorf("dataset: failed to read %s: %w", filepath.Join(dir, name), statErr)
			}
			if !info.Mode().IsRegular() {
				reason = "not a regular file"
			}
		}
		if reason != "" {
			skipped = append(skipped, name+": "+reason)
			continue
		}
		files = append(files, name)
	}
	sortNatural(files)
	return files, skipped, nil
}

// decodeRGBA decodes the image at path into an opaque size x size RGBA image.
func decodeRGBA(path string, size int) (*image.RGBA, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: failed to open %s: %w", path, err)
	}
	defer f.Close()

	src, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("dataset: failed to decode %s: %v: the file is corrupt or not a PNG/JPEG image, so remove or replace it",
			path, err)
	}

	// Drawing onto a black opaque canvas with Over composites any
	// transparency over black and converts every color model to 8-bit RGBA.
	bounds := src.Bounds()
	rgba := image.NewRGBA(image.Rect(0, 0, bounds.Dx(), bounds.Dy()))
	stddraw.Draw(rgba, rgba.Bounds(), image.Black, image.Point{}, stddraw.Src)
	stddraw.Draw(rgba, rgba.Bounds(), src, bounds.Min, stddraw.Over)
	if bounds.Dx() == size && bounds.Dy() == size {
		return rgba, nil
	}

	scaled := image.NewRGBA(image.Rect(0, 0, size, size))
	xdraw.CatmullRom.Scale(scaled, scaled.Bounds(), rgba, rgba.Bounds(), xdraw.Src, nil)
	return scaled, nil
}

// storePixels writes the RGB channels of img into dst (HWC) as v/127.5 - 1.
func storePixels(dst []float32, img *image.RGBA) {
	bounds := img.Bounds()
	k := 0
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		row := img.Pix[img.PixOffset(bounds.Min.X, y):]
		for x := 0; x < bounds.Dx(); x++ {
			for c := 0; c < 3; c++ {
				dst[k] = float32(row[4*x+c])/127.5 - 1
				k++
			}
		}
	}
}
