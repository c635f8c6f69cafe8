package main

import (
	"strings"
	"testing"
	"time"

	"github.com/cert-manager/cert-manager/kserve-triton-parts/internal/clitest"
)

func TestMain(m *testing.M) { clitest.Main(m, main) }

// The arguments the chart's cainjector-deployment.yaml gives the cainjector with the project's values.
var podArgs = []string{"--v=2", "--leader-election-namespace=cert-manager"}

func TestHelpListsTheChartsFlags(t *testing.T) {
	code, out := clitest.Run(t, 30*time.Second, "--help")
	if code != 0 {
		t.Fatalf("--help exited %d:\n%s", code, out)
	}
	clitest.HasFlags(t, out, "v", "config", "kubeconfig", "leader-elect", "leader-election-namespace",
		"leader-election-lease-duration", "leader-election-renew-deadline", "leader-election-retry-period",
		"feature-gates", "metrics-listen-address", "enable-certificates-data-source", "version")
}

func TestWithoutAPIServerItFails(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		// Unlike upstream's binary, --kubeconfig is honoured: this is the file it names.
		"missing kubeconfig": {append([]string{"--kubeconfig=/nonexistent/kubeconfig"}, podArgs...), "/nonexistent/kubeconfig"},
		"no kubeconfig":      {podArgs, "no configuration has been provided"},
		"unreachable":        {append([]string{"--kubeconfig=" + clitest.UnreachableKubeconfig(t), "--metrics-listen-address=0"}, podArgs...), "connection refused"},
		"unknown flag":       {[]string{"--no-such-flag"}, "unknown flag: --no-such-flag"},
	} {
		t.Run(name, func(t *testing.T) {
			code, out := clitest.Run(t, 60*time.Second, tc.args...)
			if code != 1 || !strings.Contains(out, tc.want) {
				t.Fatalf("exited %d, want 1 and output with %q:\n%s", code, tc.want, out)
			}
		})
	}
}
