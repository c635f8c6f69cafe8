package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cert-manager/cert-manager/kserve-triton-parts/internal/clitest"
	"github.com/cert-manager/cert-manager/pkg/util"
)

func TestMain(m *testing.M) { clitest.Main(m, main) }

// The arguments the chart's deployment.yaml gives the controller with the project's values (POD_NAMESPACE
// cert-manager, leader election in cert-manager).
var podArgs = []string{
	"--v=2",
	"--cluster-resource-namespace=cert-manager",
	"--leader-election-namespace=cert-manager",
	"--acme-http01-solver-image=quay.io/jetstack/cert-manager-acmesolver:v1.21.1",
	"--max-concurrent-challenges=60",
}

func TestHelpListsTheChartsFlags(t *testing.T) {
	code, out := clitest.Run(t, 30*time.Second, "--help")
	if code != 0 {
		t.Fatalf("--help exited %d:\n%s", code, out)
	}
	clitest.HasFlags(t, out, "v", "config", "kubeconfig", "master", "cluster-resource-namespace", "leader-elect",
		"leader-election-namespace", "leader-election-lease-duration", "leader-election-renew-deadline",
		"leader-election-retry-period", "acme-http01-solver-image", "default-issuer-name", "default-issuer-kind",
		"default-issuer-group", "feature-gates", "acme-http01-solver-extra-labels", "max-concurrent-challenges",
		"enable-certificate-owner-ref", "dns01-recursive-nameservers-only", "dns01-recursive-nameservers",
		"controllers", "acme-http01-solver-runtime-class-name", "metrics-listen-address", "version")
}

func TestVersion(t *testing.T) {
	code, out := clitest.Run(t, 30*time.Second, "--version")
	if code != 0 || !strings.Contains(out, util.AppVersion) {
		t.Fatalf("--version exited %d, want 0 and %q:\n%s", code, util.AppVersion, out)
	}
}

func TestWithoutAPIServerItFails(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no kubeconfig, not in a pod": {podArgs, "KUBERNETES_SERVICE_HOST"},
		"missing kubeconfig":          {append([]string{"--kubeconfig=/nonexistent/kubeconfig"}, podArgs...), "/nonexistent/kubeconfig"},
		"unknown flag":                {[]string{"--no-such-flag"}, "unknown flag: --no-such-flag"},
		"unknown controller":          {[]string{"--controllers=*,-nope"}, "nope"},
	} {
		t.Run(name, func(t *testing.T) {
			code, out := clitest.Run(t, 30*time.Second, tc.args...)
			if code != 1 || !strings.Contains(out, tc.want) {
				t.Fatalf("exited %d, want 1 and output with %q:\n%s", code, tc.want, out)
			}
		})
	}
}

// --config is read, and a flag given on the command line wins over it.
func TestConfigFileUnderFlags(t *testing.T) {
	file := clitest.WriteFile(t, "config.yaml", `apiVersion: controller.config.cert-manager.io/v1alpha1
kind: ControllerConfiguration
controllers: ["*", "-from-file"]
kubeConfig: /nonexistent/from-file
`)
	code, out := clitest.Run(t, 30*time.Second, "--config="+file)
	if code != 1 || !strings.Contains(out, "from-file") || !strings.Contains(out, "not in the list of known controllers") {
		t.Fatalf("exited %d, want 1 and the file's controller refused:\n%s", code, out)
	}
	code, out = clitest.Run(t, 30*time.Second, "--config="+file, "--controllers=*", "--kubeconfig=/nonexistent/from-flag")
	if code != 1 || !strings.Contains(out, "/nonexistent/from-flag") {
		t.Fatalf("exited %d, want 1 and the flag's kubeconfig tried:\n%s", code, out)
	}
}

// With an API server that does not answer it keeps trying, serves /livez and metrics on the addresses given,
// and stops cleanly on SIGTERM.
func TestUnreachableAPIServer(t *testing.T) {
	metrics, health := clitest.FreeAddr(t), clitest.FreeAddr(t)
	p := clitest.Start(t, append([]string{"--kubeconfig=" + clitest.UnreachableKubeconfig(t),
		"--metrics-listen-address=" + metrics, "--internal-healthz-listen-address=" + health}, podArgs...)...)
	for _, url := range []string{"http://" + health + "/livez", "http://" + metrics + "/metrics"} {
		if status, err := p.Get(context.Background(), url, 30*time.Second); err != nil || status != 200 {
			t.Fatalf("GET %s: %d %v; output:\n%s", url, status, err, p.Output())
		}
	}
	if code, err := p.Stop(30 * time.Second); err != nil || code != 0 {
		t.Fatalf("after SIGTERM: exit %d, %v; output:\n%s", code, err, p.Output())
	}
}
