//go:build unix

package ca

import "golang.org/x/sys/unix"

func accessWrite(dir string) error { return unix.Access(dir, unix.W_OK|unix.X_OK) }
