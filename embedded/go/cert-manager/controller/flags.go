package main

import (
	"strings"

	"github.com/spf13/pflag"
	cliflag "k8s.io/component-base/cli/flag"

	config "github.com/cert-manager/cert-manager/internal/apis/config/controller"
	defaults "github.com/cert-manager/cert-manager/internal/apis/config/controller/v1alpha1"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	utilfeature "github.com/cert-manager/cert-manager/pkg/util/feature"
)

// bind registers the controller's flags: the names and meanings of cert-manager v1.21.1's controller, each
// writing into the field of the configuration that its --config file sets too.
func bind(fs *pflag.FlagSet, c *config.ControllerConfiguration) {
	// Reaching the API server.
	fs.StringVar(&c.KubeConfig, "kubeconfig", c.KubeConfig, "Path to a kubeconfig; without it and --master, the in-cluster configuration is used")
	fs.StringVar(&c.APIServerHost, "master", c.APIServerHost, "Address of the API server, overriding the kubeconfig's")
	fs.Float32Var(&c.KubernetesAPIQPS, "kube-api-qps", c.KubernetesAPIQPS, "Client-side rate limit of API requests per second (when the API server has no priority and fairness)")
	fs.IntVar(&c.KubernetesAPIBurst, "kube-api-burst", c.KubernetesAPIBurst, "Burst allowed over --kube-api-qps")

	// Scope and leader election.
	fs.StringVar(&c.Namespace, "namespace", c.Namespace, "Watch only this namespace (ClusterIssuers and other cluster-scoped controllers are then off); empty: all namespaces")
	fs.StringVar(&c.ClusterResourceNamespace, "cluster-resource-namespace", c.ClusterResourceNamespace, "Namespace of the Secrets that ClusterIssuers refer to")
	fs.BoolVar(&c.LeaderElectionConfig.Enabled, "leader-elect", c.LeaderElectionConfig.Enabled, "Run the controllers only while holding the Lease cert-manager-controller")
	fs.StringVar(&c.LeaderElectionConfig.Namespace, "leader-election-namespace", c.LeaderElectionConfig.Namespace, "Namespace of the leader-election Lease")
	fs.DurationVar(&c.LeaderElectionConfig.LeaseDuration, "leader-election-lease-duration", c.LeaderElectionConfig.LeaseDuration, "How long a Lease not renewed keeps other candidates waiting")
	fs.DurationVar(&c.LeaderElectionConfig.RenewDeadline, "leader-election-renew-deadline", c.LeaderElectionConfig.RenewDeadline, "How long the leader keeps trying to renew before it gives up leading")
	fs.DurationVar(&c.LeaderElectionConfig.RetryPeriod, "leader-election-retry-period", c.LeaderElectionConfig.RetryPeriod, "Interval between attempts to acquire or renew the Lease")

	fs.StringSliceVar(&c.Controllers, "controllers", c.Controllers, "Controllers to run: '*' for the default set, a name to add one, '-name' to drop one. All: "+
		strings.Join(defaults.AllControllers, ", "))
	fs.IntVar(&c.NumberOfConcurrentWorkers, "concurrent-workers", c.NumberOfConcurrentWorkers, "Workers per controller")
	fs.Var(cliflag.NewMapStringBool(&c.FeatureGates), "feature-gates", "key=value pairs turning features on or off. Known:\n"+
		strings.Join(utilfeature.DefaultFeatureGate.KnownFeatures(), "\n"))

	// Issuers and Certificates.
	fs.BoolVar(&c.ClusterIssuerAmbientCredentials, "cluster-issuer-ambient-credentials", c.ClusterIssuerAmbientCredentials, "Let ClusterIssuers use credentials from the environment (metadata services, files)")
	fs.BoolVar(&c.IssuerAmbientCredentials, "issuer-ambient-credentials", c.IssuerAmbientCredentials, "Let Issuers use credentials from the environment (metadata services, files)")
	fs.BoolVar(&c.EnableCertificateOwnerRef, "enable-certificate-owner-ref", c.EnableCertificateOwnerRef, "Make each Certificate the owner of its Secret, so deleting it deletes the Secret")
	fs.StringSliceVar(&c.CopiedAnnotationPrefixes, "copied-annotation-prefixes", c.CopiedAnnotationPrefixes, "Annotation key prefixes copied from Certificate to CertificateRequest and Order ('-prefix' excludes)")
	fs.DurationVar(&c.CertificateRequestMinimumBackoffDuration, "certificate-request-minimum-backoff-duration", c.CertificateRequestMinimumBackoffDuration, "First delay after a failed CertificateRequest; it doubles with each further failure")
	fs.DurationVar(&c.CertificateRequestMaximumBackoffDuration, "certificate-request-maximum-backoff-duration", c.CertificateRequestMaximumBackoffDuration, "Longest delay after failed CertificateRequests")
	fs.IntVar(&c.PEMSizeLimitsConfig.MaxCertificateSize, "max-certificate-size", c.PEMSizeLimitsConfig.MaxCertificateSize, "Largest PEM certificate accepted, in bytes")
	fs.IntVar(&c.PEMSizeLimitsConfig.MaxPrivateKeySize, "max-private-key-size", c.PEMSizeLimitsConfig.MaxPrivateKeySize, "Largest PEM private key accepted, in bytes")
	fs.IntVar(&c.PEMSizeLimitsConfig.MaxChainLength, "max-certificate-chain-length", c.PEMSizeLimitsConfig.MaxChainLength, "Largest PEM certificate chain accepted, in bytes")
	fs.IntVar(&c.PEMSizeLimitsConfig.MaxBundleSize, "max-certificate-bundle-size", c.PEMSizeLimitsConfig.MaxBundleSize, "Largest PEM bundle accepted, in bytes")

	// Ingress and Gateway shims.
	fs.StringSliceVar(&c.IngressShimConfig.DefaultAutoCertificateAnnotations, "auto-certificate-annotations", c.IngressShimConfig.DefaultAutoCertificateAnnotations, "Annotations by which an Ingress asks for a Certificate")
	fs.StringSliceVar(&c.IngressShimConfig.ExtraCertificateAnnotations, "extra-certificate-annotations", []string{}, "Annotations the ingress shim copies onto the Certificates it makes")
	fs.StringVar(&c.IngressShimConfig.DefaultIssuerName, "default-issuer-name", c.IngressShimConfig.DefaultIssuerName, "Issuer for an Ingress that asks for TLS without naming one")
	fs.StringVar(&c.IngressShimConfig.DefaultIssuerKind, "default-issuer-kind", c.IngressShimConfig.DefaultIssuerKind, "Kind of --default-issuer-name")
	fs.StringVar(&c.IngressShimConfig.DefaultIssuerGroup, "default-issuer-group", c.IngressShimConfig.DefaultIssuerGroup, "API group of --default-issuer-name")
	fs.BoolVar(&c.GatewayAPIConfig.Enabled, "enable-gateway-api", c.GatewayAPIConfig.Enabled, "Run the Gateway API shim and HTTP-01 solver (with the ExperimentalGatewayAPISupport gate)")
	fs.BoolVar(&c.GatewayAPIConfig.EnableListenerSet, "enable-gateway-api-listenerset", c.GatewayAPIConfig.EnableListenerSet, "Also handle ListenerSets (with the ListenerSets gate)")
	fs.StringSliceVar(&c.GatewayAPIConfig.ExtraProtocols, "gateway-api-extra-protocols", c.GatewayAPIConfig.ExtraProtocols, "Listener protocols besides HTTPS and TLS that the Gateway shim treats as TLS")

	// ACME.
	fs.StringVar(&c.ACMEHTTP01Config.SolverImage, "acme-http01-solver-image", c.ACMEHTTP01Config.SolverImage, "Image of the pods that answer ACME HTTP-01 challenges")
	fs.StringVar(&c.ACMEHTTP01Config.SolverResourceRequestCPU, "acme-http01-solver-resource-request-cpu", c.ACMEHTTP01Config.SolverResourceRequestCPU, "CPU request of HTTP-01 solver pods")
	fs.StringVar(&c.ACMEHTTP01Config.SolverResourceRequestMemory, "acme-http01-solver-resource-request-memory", c.ACMEHTTP01Config.SolverResourceRequestMemory, "Memory request of HTTP-01 solver pods")
	fs.StringVar(&c.ACMEHTTP01Config.SolverResourceLimitsCPU, "acme-http01-solver-resource-limits-cpu", c.ACMEHTTP01Config.SolverResourceLimitsCPU, "CPU limit of HTTP-01 solver pods")
	fs.StringVar(&c.ACMEHTTP01Config.SolverResourceLimitsMemory, "acme-http01-solver-resource-limits-memory", c.ACMEHTTP01Config.SolverResourceLimitsMemory, "Memory limit of HTTP-01 solver pods")
	fs.BoolVar(&c.ACMEHTTP01Config.SolverRunAsNonRoot, "acme-http01-solver-run-as-non-root", c.ACMEHTTP01Config.SolverRunAsNonRoot, "Run HTTP-01 solver pods as non-root")
	fs.StringVar(&c.ACMEHTTP01Config.SolverRuntimeClassName, "acme-http01-solver-runtime-class-name", c.ACMEHTTP01Config.SolverRuntimeClassName, "RuntimeClass of HTTP-01 solver pods")
	fs.StringSliceVar(&c.ACMEHTTP01Config.SolverNameservers, "acme-http01-solver-nameservers", c.ACMEHTTP01Config.SolverNameservers, "host:port DNS servers for the HTTP-01 self check")
	fs.Var(cliflag.NewMapStringString(&c.ACMEHTTP01Config.SolverExtraLabels), "acme-http01-solver-extra-labels", "key=value labels added to HTTP-01 solver pods, services, ingresses and routes")
	fs.StringSliceVar(&c.ACMEDNS01Config.RecursiveNameservers, "dns01-recursive-nameservers", c.ACMEDNS01Config.RecursiveNameservers, "DNS servers (ip:port or DoH https:// URLs) for the DNS-01 self check")
	fs.BoolVar(&c.ACMEDNS01Config.RecursiveNameserversOnly, "dns01-recursive-nameservers-only", c.ACMEDNS01Config.RecursiveNameserversOnly, "Ask only --dns01-recursive-nameservers, never the authoritative servers")
	fs.DurationVar(&c.ACMEDNS01Config.CheckRetryPeriod, "dns01-check-retry-period", c.ACMEDNS01Config.CheckRetryPeriod, "Interval between DNS-01 and HTTP-01 propagation checks")
	fs.IntVar(&c.MaxConcurrentChallenges, "max-concurrent-challenges", c.MaxConcurrentChallenges, "Most ACME challenges processed at once")

	// Serving: metrics, health, profiling.
	fs.StringVar(&c.MetricsListenAddress, "metrics-listen-address", c.MetricsListenAddress, "host:port of the Prometheus metrics endpoint; '0' turns it off (an addition of this build)")
	fs.StringVar(&c.MetricsTLSConfig.Filesystem.CertFile, "metrics-tls-cert-file", c.MetricsTLSConfig.Filesystem.CertFile, "Certificate file for serving metrics over TLS")
	fs.StringVar(&c.MetricsTLSConfig.Filesystem.KeyFile, "metrics-tls-private-key-file", c.MetricsTLSConfig.Filesystem.KeyFile, "Private key file for serving metrics over TLS")
	fs.DurationVar(&c.MetricsTLSConfig.Dynamic.LeafDuration, "metrics-dynamic-serving-leaf-duration", c.MetricsTLSConfig.Dynamic.LeafDuration, "Lifetime of metrics serving certificates signed by the dynamic CA")
	fs.StringVar(&c.MetricsTLSConfig.Dynamic.SecretNamespace, "metrics-dynamic-serving-ca-secret-namespace", c.MetricsTLSConfig.Dynamic.SecretNamespace, "Namespace of the Secret holding the metrics serving CA")
	fs.StringVar(&c.MetricsTLSConfig.Dynamic.SecretName, "metrics-dynamic-serving-ca-secret-name", c.MetricsTLSConfig.Dynamic.SecretName, "Name of the Secret holding the metrics serving CA")
	fs.StringSliceVar(&c.MetricsTLSConfig.Dynamic.DNSNames, "metrics-dynamic-serving-dns-names", c.MetricsTLSConfig.Dynamic.DNSNames, "DNS names of the metrics serving certificate")
	fs.StringSliceVar(&c.MetricsTLSConfig.CipherSuites, "metrics-tls-cipher-suites", c.MetricsTLSConfig.CipherSuites, "TLS cipher suites of the metrics server; one of: "+strings.Join(cliflag.TLSCipherPossibleValues(), ","))
	fs.StringVar(&c.MetricsTLSConfig.MinTLSVersion, "metrics-tls-min-version", c.MetricsTLSConfig.MinTLSVersion, "Lowest TLS version of the metrics server; one of: "+strings.Join(cliflag.TLSPossibleVersions(), ", "))
	fs.StringVar(&c.HealthzListenAddress, "internal-healthz-listen-address", c.HealthzListenAddress, "host:port of the /livez endpoint")
	fs.DurationVar(&c.LeaderElectionConfig.HealthzTimeout, "internal-healthz-leader-election-timeout", c.LeaderElectionConfig.HealthzTimeout, "How long past an expired Lease /livez still reports healthy")
	for _, hidden := range []string{"internal-healthz-listen-address", "internal-healthz-leader-election-timeout"} {
		_ = fs.MarkHidden(hidden) // as upstream: not meant to be changed
	}
	fs.BoolVar(&c.EnablePprof, "enable-profiling", c.EnablePprof, "Serve Go's profiler on --profiler-address")
	fs.StringVar(&c.PprofAddress, "profiler-address", c.PprofAddress, "host:port of the profiler (/debug/pprof)")

	logf.AddFlags(&c.Logging, fs)
}
