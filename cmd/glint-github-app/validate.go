package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kozmoai/glint-github-app/ghe"
)

// runValidate checks glint.yml files offline: the same parser and file://
// rules as a pass, with file:line: field: message errors. Exit 1 on any error.
func runValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", ".", "repository root: file://PATH values are read relative to it (./ and ../ relative to the glint.yml)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: glint-github-app validate [--root DIR] FILE...\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitBadConfig
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitBadConfig
	}
	failed := 0
	for _, file := range fs.Args() {
		n, err := validateFile(*root, file)
		if err != nil {
			failed++
			for _, line := range flattenErrors(err) {
				fmt.Fprintln(stdout, line)
			}
			continue
		}
		fmt.Fprintf(stdout, "%s: ok (%d entities)\n", file, n)
	}
	if failed > 0 {
		fmt.Fprintf(stdout, "%d of %d files invalid\n", failed, fs.NArg())
		return exitFailed
	}
	return exitOK
}

// validateFile parses one file and checks its file:// references exist.
func validateFile(root, file string) (int, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", file, errors.Unwrap(err))
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return 0, fmt.Errorf("%s: root %s: %w", file, root, err)
	}
	absFile, err := filepath.Abs(file)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", file, err)
	}
	rel, err := filepath.Rel(absRoot, absFile)
	if err != nil || rel == ".." || len(rel) > 2 && rel[:3] == ".."+string(filepath.Separator) {
		rel = filepath.Base(file) // not below the root: treat its folder as the root
		absRoot = filepath.Dir(absFile)
	}
	rel = filepath.ToSlash(rel)
	entities, err := ghe.ParseSpec(rel, data)
	if err != nil {
		return 0, err
	}
	refs, err := ghe.FileRefs(entities)
	if err != nil {
		return 0, err
	}
	files := make(map[string]string, len(refs))
	for _, ref := range refs {
		b, err := os.ReadFile(filepath.Join(absRoot, filepath.FromSlash(ref)))
		if err != nil {
			continue // ResolveFiles names the missing reference and the field
		}
		files[ref] = string(b)
	}
	if _, err := ghe.ResolveFiles(entities, files); err != nil {
		return 0, err
	}
	return len(entities), nil
}

// flattenErrors lists the leaves of a joined error, one line each.
func flattenErrors(err error) []string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, flattenErrors(e)...)
		}
		return out
	}
	return []string{err.Error()}
}
