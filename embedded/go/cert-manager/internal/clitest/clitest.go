// Package clitest runs a program's main in a child process (the test binary itself, started again), so that
// tests see what a person or the harness sees: exit status, stderr, listening ports.
package clitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const runMain = "KSERVE_TRITON_CLITEST_RUN_MAIN"

// Main is TestMain's body: in the child it runs the program's main instead of the tests.
func Main(m *testing.M, main func()) {
	if os.Getenv(runMain) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Proc is a running child.
type Proc struct {
	cmd    *exec.Cmd
	out    syncBuffer
	done   chan struct{}
	waitEr error
}

// Start runs the program with args in a clean environment: no $KUBECONFIG, no in-cluster variables, and a
// HOME without ~/.kube/config, so that only what args say reaches an API server.
func Start(t *testing.T, args ...string) *Proc {
	t.Helper()
	p := &Proc{cmd: exec.Command(os.Args[0], args...), done: make(chan struct{})}
	p.cmd.Env = []string{runMain + "=1", "HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.waitEr = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// Run runs the program to its end, which must come within limit.
func Run(t *testing.T, limit time.Duration, args ...string) (code int, output string) {
	t.Helper()
	p := Start(t, args...)
	code, err := p.Wait(limit)
	if err != nil {
		t.Fatalf("%v %v: %v; output:\n%s", filepath.Base(os.Args[0]), args, err, p.Output())
	}
	return code, p.Output()
}

// Wait waits up to limit for the end and returns the exit status.
func (p *Proc) Wait(limit time.Duration) (int, error) {
	select {
	case <-p.done:
	case <-time.After(limit):
		return -1, fmt.Errorf("still running after %v", limit)
	}
	var exit *exec.ExitError
	if errors.As(p.waitEr, &exit) {
		return exit.ExitCode(), nil
	}
	return 0, p.waitEr
}

// Running reports whether the child has not ended.
func (p *Proc) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Stop sends SIGTERM, as the kubelet (or the harness) does, and returns the exit status.
func (p *Proc) Stop(limit time.Duration) (int, error) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	return p.Wait(limit)
}

func (p *Proc) Output() string { return p.out.String() }

// Get polls url with plain HTTP until it answers (or limit passes) and returns the status code.
func (p *Proc) Get(ctx context.Context, url string, limit time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return resp.StatusCode, nil
		}
		if !p.Running() {
			return 0, fmt.Errorf("ended before %s answered", url)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%s: %w", url, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// FreeAddr returns a loopback address whose port was free a moment ago.
func FreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Port is the port of FreeAddr.
func Port(t *testing.T) string {
	_, port, _ := net.SplitHostPort(FreeAddr(t))
	return port
}

// UnreachableKubeconfig writes a kubeconfig whose API server is a loopback port where nothing listens.
func UnreachableKubeconfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://%s", insecure-skip-tls-verify: true}}]
users: [{name: none, user: {token: unused}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
`, FreeAddr(t))
	if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// WriteFile writes content to a new file in a temporary directory and returns its path.
func WriteFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// HasFlags fails t for each flag that help does not list.
func HasFlags(t *testing.T, help string, flags ...string) {
	t.Helper()
	for _, f := range flags {
		if !strings.Contains(help, "--"+f+" ") && !strings.Contains(help, "--"+f+"=") {
			t.Errorf("--help does not list --%s", f)
		}
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
