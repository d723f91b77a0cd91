package fleet

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// A Proc is one program the fleet runs (a nats-server node, a chancery
// replica) that can be killed with SIGKILL and started again with the same
// arguments, as a crash and a restart by a supervisor would.
type Proc struct {
	Name  string
	Args  []string // program and arguments
	Env   []string // added to the harness's environment
	Netns string   // run inside this network namespace (ip netns exec), if set
	Log   string   // stdout and stderr are appended here

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start starts the program. It is an error to start a running Proc.
func (p *Proc) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("%s is already running", p.Name)
	}
	logf, err := os.OpenFile(p.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "=== %s start %s\n", time.Now().Format(time.RFC3339Nano), p.Name)
	args := p.Args
	if p.Netns != "" {
		// ip netns exec execs the program itself: the pid is the program's.
		args = append([]string{"ip", "netns", "exec", p.Netns}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), p.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Should the harness itself be killed, its processes die with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(exited)
	}()
	p.cmd, p.exited = cmd, exited
	return nil
}

// Kill ends the program with SIGKILL and waits until it is gone. Killing a
// stopped Proc does nothing.
func (p *Proc) Kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	p.cmd, p.exited = nil, nil
}

// Running reports whether the program was started and has not exited.
func (p *Proc) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// errExited is returned by waits on a program that has exited.
var errExited = errors.New("exited")

// alive returns errExited (naming the log) when p is not running.
func (p *Proc) alive() error {
	if p.Running() {
		return nil
	}
	return fmt.Errorf("%s %w (see %s)", p.Name, errExited, p.Log)
}
