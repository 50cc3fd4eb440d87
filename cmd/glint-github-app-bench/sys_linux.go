package main

import (
	"os/exec"
	"syscall"
)

// setChildAttrs makes the kernel kill the fakes when the bench dies.
func setChildAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
