// Command statusfloor is the floor for `certkit status` over a large home:
// it lists the given folders and reads every .cert and .crt file in them
// with a bare os.ReadFile, on every core, and does nothing else. No
// checks, no parsing, no output: what any program must pay to read the
// same files.
//
//	go build -o /tmp/statusfloor ./bench/statusfloor
//	hyperfine '/tmp/statusfloor HOME/hosts/REG CERTS/REG' 'certkit status --home HOME --certs-dir CERTS'
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

func main() {
	var paths []string
	for _, dir := range os.Args[1:] {
		names, err := readNames(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for _, n := range names {
			if strings.HasSuffix(n, ".cert") || strings.HasSuffix(n, ".crt") {
				paths = append(paths, filepath.Join(dir, n))
			}
		}
	}
	workers := runtime.GOMAXPROCS(0)
	var total atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(paths); i += workers {
				data, err := os.ReadFile(paths[i])
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				total.Add(int64(len(data)))
			}
		})
	}
	wg.Wait()
	if os.Getenv("STATUSFLOOR_VERBOSE") != "" {
		fmt.Printf("%d files, %d bytes\n", len(paths), total.Load())
	}
}

func readNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}
