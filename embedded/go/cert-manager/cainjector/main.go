// Command cainjector is cert-manager's CA injector (v1.21.1): it writes the CA of a Certificate's Secret (or of
// a Secret, or the API server's own) into the caBundle of the webhook configurations, CRD conversion webhooks
// and APIServices annotated cert-manager.io/inject-ca-from (-secret, inject-apiserver-ca). The main is
// kserve-triton's own: upstream's cmd/cainjector module is not published; the injectors are the root module's.
package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	apiext "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	kscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	cliflag "k8s.io/component-base/cli/flag"
	logsapi "k8s.io/component-base/logs/api/v1"
	apireg "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/cert-manager/cert-manager/kserve-triton-parts/internal/cli"

	config "github.com/cert-manager/cert-manager/internal/apis/config/cainjector"
	configscheme "github.com/cert-manager/cert-manager/internal/apis/config/cainjector/scheme"
	"github.com/cert-manager/cert-manager/internal/apis/config/cainjector/validation"
	"github.com/cert-manager/cert-manager/internal/cainjector/feature"
	configv1alpha1 "github.com/cert-manager/cert-manager/pkg/apis/config/cainjector/v1alpha1"
	cainjectorconfigfile "github.com/cert-manager/cert-manager/pkg/cainjector/configfile"
	cmscheme "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned/scheme"
	"github.com/cert-manager/cert-manager/pkg/controller/cainjector"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"github.com/cert-manager/cert-manager/pkg/util"
	utilfeature "github.com/cert-manager/cert-manager/pkg/util/feature"
	"github.com/cert-manager/cert-manager/pkg/util/profiling"
)

var program = cli.Program[config.CAInjectorConfiguration]{
	Name: "cainjector",
	Long: "cert-manager's CA injector: keeps the caBundle of annotated webhook configurations, CRDs and APIServices current.",
	Defaults: func() (*config.CAInjectorConfiguration, error) {
		scheme, _, err := configscheme.NewSchemeAndCodecs()
		if err != nil {
			return nil, err
		}
		return cli.Defaulted[config.CAInjectorConfiguration](scheme, &configv1alpha1.CAInjectorConfiguration{})
	},
	Bind: bind,
	File: func(path string) (*config.CAInjectorConfiguration, error) {
		f := cainjectorconfigfile.New()
		if err := cli.LoadFile(path, f); err != nil {
			return nil, err
		}
		return f.Config, nil
	},
	Gates:   func(c *config.CAInjectorConfiguration) map[string]bool { return c.FeatureGates },
	Logging: func(c *config.CAInjectorConfiguration) *logsapi.LoggingConfiguration { return &c.Logging },
	Validate: func(c *config.CAInjectorConfiguration) error {
		return validation.ValidateCAInjectorConfiguration(c, nil).ToAggregate()
	},
	Run: run,
}

func main() { cli.Main(program) }

// bind registers the cainjector's flags: the names and meanings of cert-manager v1.21.1's cainjector.
func bind(fs *pflag.FlagSet, c *config.CAInjectorConfiguration) {
	fs.StringVar(&c.KubeConfig, "kubeconfig", c.KubeConfig, "Path to a kubeconfig; without it: $KUBECONFIG, the in-cluster configuration, then ~/.kube/config")
	fs.StringVar(&c.Namespace, "namespace", c.Namespace, "Inject only into resources of this namespace, from sources in it; empty: all namespaces")
	fs.StringSliceVar(&c.IgnoreNamespaces, "ignore-namespaces", c.IgnoreNamespaces, "Namespaces whose Secrets are never a CA source (not with --namespace)")
	fs.BoolVar(&c.LeaderElectionConfig.Enabled, "leader-elect", c.LeaderElectionConfig.Enabled, "Inject only while holding the Lease cert-manager-cainjector-leader-election")
	fs.StringVar(&c.LeaderElectionConfig.Namespace, "leader-election-namespace", c.LeaderElectionConfig.Namespace, "Namespace of the leader-election Lease")
	fs.DurationVar(&c.LeaderElectionConfig.LeaseDuration, "leader-election-lease-duration", c.LeaderElectionConfig.LeaseDuration, "How long a Lease not renewed keeps other candidates waiting")
	fs.DurationVar(&c.LeaderElectionConfig.RenewDeadline, "leader-election-renew-deadline", c.LeaderElectionConfig.RenewDeadline, "How long the leader keeps trying to renew before it gives up leading")
	fs.DurationVar(&c.LeaderElectionConfig.RetryPeriod, "leader-election-retry-period", c.LeaderElectionConfig.RetryPeriod, "Interval between attempts to acquire or renew the Lease")

	fs.BoolVar(&c.EnableDataSourceConfig.Certificates, "enable-certificates-data-source", c.EnableDataSourceConfig.Certificates, "Accept Certificates (inject-ca-from) as CA sources; needs the Certificate CRD")
	fs.BoolVar(&c.EnableInjectableConfig.ValidatingWebhookConfigurations, "enable-validatingwebhookconfigurations-injectable", c.EnableInjectableConfig.ValidatingWebhookConfigurations, "Inject into ValidatingWebhookConfigurations")
	fs.BoolVar(&c.EnableInjectableConfig.MutatingWebhookConfigurations, "enable-mutatingwebhookconfigurations-injectable", c.EnableInjectableConfig.MutatingWebhookConfigurations, "Inject into MutatingWebhookConfigurations")
	fs.BoolVar(&c.EnableInjectableConfig.CustomResourceDefinitions, "enable-customresourcedefinitions-injectable", c.EnableInjectableConfig.CustomResourceDefinitions, "Inject into the conversion webhooks of CustomResourceDefinitions")
	fs.BoolVar(&c.EnableInjectableConfig.APIServices, "enable-apiservices-injectable", c.EnableInjectableConfig.APIServices, "Inject into APIServices")

	fs.Var(cliflag.NewMapStringBool(&c.FeatureGates), "feature-gates", "key=value pairs turning features on or off. Known:\n"+
		strings.Join(utilfeature.DefaultFeatureGate.KnownFeatures(), "\n"))
	fs.BoolVar(&c.EnablePprof, "enable-profiling", c.EnablePprof, "Serve Go's profiler on --profiler-address")
	fs.StringVar(&c.PprofAddress, "profiler-address", c.PprofAddress, "host:port of the profiler (/debug/pprof)")

	fs.StringVar(&c.MetricsListenAddress, "metrics-listen-address", c.MetricsListenAddress, "host:port of the Prometheus metrics endpoint; '0' turns it off")
	fs.StringVar(&c.MetricsTLSConfig.Filesystem.CertFile, "metrics-tls-cert-file", c.MetricsTLSConfig.Filesystem.CertFile, "Certificate file for serving metrics over TLS")
	fs.StringVar(&c.MetricsTLSConfig.Filesystem.KeyFile, "metrics-tls-private-key-file", c.MetricsTLSConfig.Filesystem.KeyFile, "Private key file for serving metrics over TLS")
	fs.DurationVar(&c.MetricsTLSConfig.Dynamic.LeafDuration, "metrics-dynamic-serving-leaf-duration", c.MetricsTLSConfig.Dynamic.LeafDuration, "Lifetime of metrics serving certificates signed by the dynamic CA")
	fs.StringVar(&c.MetricsTLSConfig.Dynamic.SecretNamespace, "metrics-dynamic-serving-ca-secret-namespace", c.MetricsTLSConfig.Dynamic.SecretNamespace, "Namespace of the Secret holding the metrics serving CA")
	fs.StringVar(&c.MetricsTLSConfig.Dynamic.SecretName, "metrics-dynamic-serving-ca-secret-name", c.MetricsTLSConfig.Dynamic.SecretName, "Name of the Secret holding the metrics serving CA")
	fs.StringSliceVar(&c.MetricsTLSConfig.Dynamic.DNSNames, "metrics-dynamic-serving-dns-names", c.MetricsTLSConfig.Dynamic.DNSNames, "DNS names of the metrics serving certificate")
	fs.StringSliceVar(&c.MetricsTLSConfig.CipherSuites, "metrics-tls-cipher-suites", c.MetricsTLSConfig.CipherSuites, "TLS cipher suites of the metrics server; one of: "+strings.Join(cliflag.TLSCipherPossibleValues(), ","))
	fs.StringVar(&c.MetricsTLSConfig.MinTLSVersion, "metrics-tls-min-version", c.MetricsTLSConfig.MinTLSVersion, "Lowest TLS version of the metrics server; one of: "+strings.Join(cliflag.TLSPossibleVersions(), ", "))

	logf.AddFlags(&c.Logging, fs)
}

// restConfig honours --kubeconfig and otherwise does what controller-runtime does ($KUBECONFIG, in-cluster,
// ~/.kube/config). Upstream's binary registers --kubeconfig twice and reads only controller-runtime's copy,
// which that registration leaves unset, so its --kubeconfig has no effect; this one's does.
func restConfig(c *config.CAInjectorConfiguration) (*rest.Config, error) {
	if c.KubeConfig == "" {
		return ctrl.GetConfig()
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", c.KubeConfig)
	if err != nil {
		return nil, fmt.Errorf("error loading kubeconfig %s: %w", c.KubeConfig, err)
	}
	if cfg.QPS == 0 {
		cfg.QPS = -1 // as ctrl.GetConfig: the API server's priority and fairness limits, not the client
	}
	return cfg, nil
}

func run(ctx context.Context, opts *config.CAInjectorConfiguration) error {
	log := logf.FromContext(ctx)
	if utilfeature.DefaultFeatureGate.Enabled(feature.ServerSideApply) {
		log.Info("the ServerSideApply feature flag has been deprecated and cainjector will always use server-side apply")
	}
	base, err := restConfig(opts)
	if err != nil {
		return err
	}
	cfg := util.RestConfigWithUserAgent(base, "cainjector")

	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{kscheme.AddToScheme, cmscheme.AddToScheme, apiext.AddToScheme, apireg.AddToScheme} {
		utilruntime.Must(add(scheme))
	}
	var namespaces map[string]cache.Config
	if opts.Namespace != "" {
		namespaces = map[string]cache.Config{opts.Namespace: {}}
	}
	metricsSource := cli.CertificateSource(opts.MetricsTLSConfig, cfg, "cert-manager-cainjector")
	metrics := metricsserver.Options{BindAddress: opts.MetricsListenAddress}
	if metricsSource != nil {
		suites, err := cliflag.TLSCipherSuites(opts.MetricsTLSConfig.CipherSuites)
		if err != nil {
			return err
		}
		minVersion, err := cliflag.TLSVersion(opts.MetricsTLSConfig.MinTLSVersion)
		if err != nil {
			return err
		}
		metrics.SecureServing = true
		metrics.TLSOpts = []func(*tls.Config){func(t *tls.Config) {
			t.CipherSuites, t.MinVersion, t.GetCertificate = suites, minVersion, metricsSource.GetCertificate
		}}
	}
	le := opts.LeaderElectionConfig
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: scheme,
		Cache:  cache.Options{ReaderFailOnMissingInformer: true, DefaultNamespaces: namespaces},
		// Secrets are read straight from the API server, never listed and cached: clusters hold many, and
		// large ones (as upstream does).
		Client:                        client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		LeaderElection:                le.Enabled,
		LeaderElectionNamespace:       le.Namespace,
		LeaderElectionID:              "cert-manager-cainjector-leader-election",
		LeaderElectionReleaseOnCancel: true,
		LeaderElectionLabels:          map[string]string{"app.kubernetes.io/managed-by": "cert-manager-cainjector"},
		LeaderElectionResourceLock:    resourcelock.LeasesResourceLock,
		LeaseDuration:                 &le.LeaseDuration,
		RenewDeadline:                 &le.RenewDeadline,
		RetryPeriod:                   &le.RetryPeriod,
		Metrics:                       metrics,
	})
	if err != nil {
		return fmt.Errorf("error creating manager: %w", err)
	}
	if metricsSource != nil {
		if err := mgr.Add(metricsSource); err != nil {
			return err
		}
	}
	if opts.EnablePprof {
		if err := addProfiler(ctx, mgr, opts.PprofAddress); err != nil {
			return err
		}
	}

	// With Certificates as a source, wait (up to five minutes) for their CRD, as upstream does.
	if opts.EnableDataSourceConfig.Certificates {
		direct, err := client.New(mgr.GetConfig(), client.Options{Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper()})
		if err != nil {
			return fmt.Errorf("failed to create client: %w", err)
		}
		err = wait.PollUntilContextTimeout(ctx, time.Second, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
			err := direct.Get(ctx, types.NamespacedName{Name: "certificates.cert-manager.io"}, &apiext.CustomResourceDefinition{})
			switch {
			case apierrors.IsNotFound(err):
				log.Info("cainjector has been configured to watch certificates, but certificates.cert-manager.io CRD not found, retrying with a backoff...")
				return false, nil
			case err != nil:
				return false, fmt.Errorf("error checking if certificates.cert-manager.io CRD is installed: %w", err)
			}
			return true, nil
		})
		if err != nil {
			return err
		}
	}

	injectables := opts.EnableInjectableConfig
	if err := cainjector.RegisterAllInjectors(ctx, mgr, cainjector.SetupOptions{
		Namespace:                    opts.Namespace,
		IgnoreNamespaces:             opts.IgnoreNamespaces,
		EnableCertificatesDataSource: opts.EnableDataSourceConfig.Certificates,
		EnabledReconcilersFor: map[string]bool{
			cainjector.MutatingWebhookConfigurationName:   injectables.MutatingWebhookConfigurations,
			cainjector.ValidatingWebhookConfigurationName: injectables.ValidatingWebhookConfigurations,
			cainjector.APIServiceName:                     injectables.APIServices,
			cainjector.CustomResourceDefinitionName:       injectables.CustomResourceDefinitions,
		},
	}); err != nil {
		return fmt.Errorf("failed to register controllers: %w", err)
	}
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("error running manager: %w", err)
	}
	return nil
}

// addProfiler serves Go's profiler on every replica, leader or not.
func addProfiler(ctx context.Context, mgr manager.Manager, address string) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", address)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	profiling.Install(mux)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 32 * time.Second}
	logf.FromContext(ctx).V(logf.InfoLevel).Info("running go profiler on", "address", address)
	return mgr.Add(everyReplica(func(ctx context.Context) error {
		go func() {
			<-ctx.Done()
			shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(shutdown) //nolint:contextcheck // ctx has ended
		}()
		if err := srv.Serve(ln); err != http.ErrServerClosed {
			return err
		}
		return nil
	}))
}

// everyReplica is a manager runnable that runs without leader election.
type everyReplica func(context.Context) error

func (f everyReplica) Start(ctx context.Context) error { return f(ctx) }
func (everyReplica) NeedLeaderElection() bool          { return false }
