package main

import (
	"context"
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cert-manager/cert-manager/kserve-triton-parts/internal/clitest"
)

func TestMain(m *testing.M) { clitest.Main(m, main) }

// The arguments the chart's webhook-deployment.yaml gives the webhook (POD_NAMESPACE cert-manager).
var podArgs = []string{
	"--v=2",
	"--secure-port=10250",
	"--dynamic-serving-ca-secret-namespace=cert-manager",
	"--dynamic-serving-ca-secret-name=cert-manager-webhook-ca",
	"--dynamic-serving-dns-names=cert-manager-webhook",
	"--dynamic-serving-dns-names=cert-manager-webhook.cert-manager",
	"--dynamic-serving-dns-names=cert-manager-webhook.cert-manager.svc",
}

func TestHelpListsTheChartsFlags(t *testing.T) {
	code, out := clitest.Run(t, 30*time.Second, "--help")
	if code != 0 {
		t.Fatalf("--help exited %d:\n%s", code, out)
	}
	clitest.HasFlags(t, out, "v", "config", "kubeconfig", "secure-port", "healthz-port", "feature-gates",
		"enable-client-verification", "client-ca-path", "client-subject-names", "dynamic-serving-ca-secret-namespace",
		"dynamic-serving-ca-secret-name", "dynamic-serving-dns-names", "metrics-listen-address", "version")
}

func TestWithoutAPIServerItFails(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no kubeconfig, not in a pod": {podArgs, "KUBERNETES_SERVICE_HOST"},
		"missing kubeconfig":          {append([]string{"--kubeconfig=/nonexistent/kubeconfig"}, podArgs...), "/nonexistent/kubeconfig"},
		"unknown flag":                {[]string{"--no-such-flag"}, "unknown flag: --no-such-flag"},
	} {
		t.Run(name, func(t *testing.T) {
			code, out := clitest.Run(t, 30*time.Second, tc.args...)
			if code != 1 || !strings.Contains(out, tc.want) {
				t.Fatalf("exited %d, want 1 and output with %q:\n%s", code, tc.want, out)
			}
		})
	}
}

// With an API server that does not answer it cannot fetch its CA: /livez is 200, /healthz 500, and the TLS
// port answers no handshake with a certificate; SIGTERM stops it.
func TestUnreachableAPIServer(t *testing.T) {
	secure, healthz := clitest.Port(t), clitest.Port(t)
	args := append([]string{"--kubeconfig=" + clitest.UnreachableKubeconfig(t), "--metrics-listen-address=0"}, podArgs...)
	p := clitest.Start(t, append(args, "--secure-port="+secure, "--healthz-port="+healthz)...)
	ctx := context.Background()
	if status, err := p.Get(ctx, "http://127.0.0.1:"+healthz+"/livez", 30*time.Second); err != nil || status != 200 {
		t.Fatalf("/livez: %d %v; output:\n%s", status, err, p.Output())
	}
	if status, err := p.Get(ctx, "http://127.0.0.1:"+healthz+"/healthz", 5*time.Second); err != nil || status != 500 {
		t.Fatalf("/healthz: %d %v, want 500 without a CA; output:\n%s", status, err, p.Output())
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if resp, err := client.Get("https://127.0.0.1:" + secure + "/validate"); err == nil {
		resp.Body.Close()
		t.Fatalf("the webhook served TLS without a certificate from its CA")
	}
	if code, err := p.Stop(30 * time.Second); err != nil || code != 0 {
		t.Fatalf("after SIGTERM: exit %d, %v; output:\n%s", code, err, p.Output())
	}
}
