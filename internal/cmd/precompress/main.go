// Command precompress writes, next to each file named on its command line,
// a brotli (name.br) and a gzip (name.gz) copy, which tabraft-signal serves
// to browsers that accept them. It is a build step of the wasm (make wasm).
//
//	go run ./internal/cmd/precompress out/web/tabraft.wasm
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
)

func main() {
	level := flag.Int("brotli-level", 11, "brotli quality, 0 (fastest) to 11 (smallest)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: precompress [-brotli-level N] file...")
		os.Exit(2)
	}
	for _, name := range flag.Args() {
		if err := compressFile(name, *level); err != nil {
			fmt.Fprintln(os.Stderr, "precompress:", err)
			os.Exit(1)
		}
	}
}

func compressFile(name string, brotliLevel int) error {
	if upToDate(name) {
		fmt.Printf("%s: compressed copies up to date\n", name)
		return nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	br, err := write(name+".br", func(w io.Writer) (io.WriteCloser, error) {
		return brotli.NewWriterLevel(w, brotliLevel), nil
	}, data)
	if err != nil {
		return err
	}
	gz, err := write(name+".gz", func(w io.Writer) (io.WriteCloser, error) {
		return gzip.NewWriterLevel(w, gzip.BestCompression)
	}, data)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %d bytes, brotli %d (%.1f%%), gzip %d (%.1f%%)\n", name, len(data),
		br, 100*float64(br)/float64(len(data)), gz, 100*float64(gz)/float64(len(data)))
	return nil
}

// upToDate reports whether both compressed copies are newer than name, so
// that make run does not spend brotli's 20 s on an unchanged build.
func upToDate(name string) bool {
	src, err := os.Stat(name)
	if err != nil {
		return false
	}
	for _, ext := range []string{".br", ".gz"} {
		c, err := os.Stat(name + ext)
		if err != nil || c.ModTime().Before(src.ModTime()) {
			return false
		}
	}
	return true
}

// write compresses data into path (through a temporary file, so a server
// never serves a half-written variant) and returns the compressed size.
func write(path string, newWriter func(io.Writer) (io.WriteCloser, error), data []byte) (int64, error) {
	f, err := os.CreateTemp(dirOf(path), ".precompress-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	w, err := newWriter(f)
	if err != nil {
		f.Close()
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := w.Write(data); err != nil {
		f.Close()
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	if err := w.Close(); err != nil {
		f.Close()
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return 0, err
	}
	return info.Size(), nil
}

func dirOf(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if os.IsPathSeparator(path[i]) {
			return path[:i+1]
		}
	}
	return "."
}
