// Command controller is cert-manager's controller (v1.21.1, the root module's controllers and issuers), with a
// main of kserve-triton's own: upstream's cmd/controller module is not published.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	logsapi "k8s.io/component-base/logs/api/v1"

	"github.com/cert-manager/cert-manager/kserve-triton-parts/internal/cli"

	config "github.com/cert-manager/cert-manager/internal/apis/config/controller"
	configscheme "github.com/cert-manager/cert-manager/internal/apis/config/controller/scheme"
	defaults "github.com/cert-manager/cert-manager/internal/apis/config/controller/v1alpha1"
	"github.com/cert-manager/cert-manager/internal/apis/config/controller/validation"
	"github.com/cert-manager/cert-manager/internal/controller/feature"
	"github.com/cert-manager/cert-manager/internal/pem"
	configv1alpha1 "github.com/cert-manager/cert-manager/pkg/apis/config/controller/v1alpha1"
	"github.com/cert-manager/cert-manager/pkg/controller"
	gateways "github.com/cert-manager/cert-manager/pkg/controller/certificate-shim/gateways"
	listenerset "github.com/cert-manager/cert-manager/pkg/controller/certificate-shim/listenerset"
	"github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	controllerconfigfile "github.com/cert-manager/cert-manager/pkg/controller/configfile"
	"github.com/cert-manager/cert-manager/pkg/healthz"
	dnsutil "github.com/cert-manager/cert-manager/pkg/issuer/acme/dns/util"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"github.com/cert-manager/cert-manager/pkg/server"
	utilfeature "github.com/cert-manager/cert-manager/pkg/util/feature"
	"github.com/cert-manager/cert-manager/pkg/util/profiling"

	// The issuer implementations; the controllers themselves come with the configuration defaults above.
	_ "github.com/cert-manager/cert-manager/pkg/issuer/acme"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/vault"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/venafi"
)

var program = cli.Program[config.ControllerConfiguration]{
	Name: "controller",
	Long: "cert-manager's controller: issues and renews the Certificates of Issuers and ClusterIssuers.",
	Defaults: func() (*config.ControllerConfiguration, error) {
		scheme, _, err := configscheme.NewSchemeAndCodecs()
		if err != nil {
			return nil, err
		}
		return cli.Defaulted[config.ControllerConfiguration](scheme, &configv1alpha1.ControllerConfiguration{})
	},
	Bind: bind,
	File: func(path string) (*config.ControllerConfiguration, error) {
		f := controllerconfigfile.New()
		if err := cli.LoadFile(path, f); err != nil {
			return nil, err
		}
		return f.Config, nil
	},
	Gates:   func(c *config.ControllerConfiguration) map[string]bool { return c.FeatureGates },
	Logging: func(c *config.ControllerConfiguration) *logsapi.LoggingConfiguration { return &c.Logging },
	Validate: func(c *config.ControllerConfiguration) error {
		return validation.ValidateControllerConfiguration(c, nil).ToAggregate()
	},
	Run: run,
}

func main() { cli.Main(program) }

func run(ctx context.Context, opts *config.ControllerConfiguration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	log := logf.FromContext(ctx)
	g, ctx := errgroup.WithContext(ctx)

	factory, err := newContextFactory(ctx, opts)
	if err != nil {
		return err
	}
	cctx, err := factory.Build()
	if err != nil {
		return err
	}
	l := opts.PEMSizeLimitsConfig // validated: positive, and none larger than the bundle
	pem.SetGlobalSizeLimits(pem.NewSizeLimitsFromConfig(l.MaxCertificateSize, l.MaxPrivateKeySize, l.MaxChainLength, l.MaxBundleSize))

	enabled := enabledControllers(opts)
	log.Info("enabled controllers: " + strings.Join(sets.List(enabled), ", "))

	// Metrics.
	if opts.MetricsListenAddress != "0" {
		source := cli.CertificateSource(opts.MetricsTLSConfig, cctx.RESTConfig, "cert-manager")
		if source != nil {
			g.Go(func() error { return ignoreEnd(source.Start(ctx)) })
		}
		ln, err := server.Listen(ctx, "tcp", opts.MetricsListenAddress, server.WithCertificateSource(source),
			server.WithTLSCipherSuites(opts.MetricsTLSConfig.CipherSuites), server.WithTLSMinVersion(opts.MetricsTLSConfig.MinTLSVersion))
		if err != nil {
			return fmt.Errorf("failed to listen on prometheus address %s: %w", opts.MetricsListenAddress, err)
		}
		informers := cctx.SharedInformerFactory
		cctx.Metrics.SetupACMECollector(informers.Acme().V1().Challenges().Lister())
		cctx.Metrics.SetupCertificateCollector(informers.Certmanager().V1().Certificates().Lister())
		cctx.Metrics.SetupIssuerCollector(informers.Certmanager().V1().Issuers().Lister())
		if enabled.Has(clusterissuers.ControllerName) {
			cctx.Metrics.SetupClusterIssuerCollector(informers.Certmanager().V1().ClusterIssuers().Lister())
		}
		log.V(logf.InfoLevel).Info("starting metrics server", "address", ln.Addr(), "tls", source != nil)
		serve(ctx, g, cctx.Metrics.NewServer(ln), ln)
	}

	if opts.EnablePprof {
		ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", opts.PprofAddress)
		if err != nil {
			return fmt.Errorf("failed to listen on profiler address %s: %w", opts.PprofAddress, err)
		}
		mux := http.NewServeMux()
		profiling.Install(mux)
		log.V(logf.InfoLevel).Info("starting profiler", "address", ln.Addr())
		serve(ctx, g, &http.Server{Handler: mux, ReadHeaderTimeout: 32 * time.Second}, ln)
	}

	// /livez: fails once leader election has stalled past its lease, or the clock jumped.
	healthLn, err := (&net.ListenConfig{}).Listen(ctx, "tcp", opts.HealthzListenAddress)
	if err != nil {
		return fmt.Errorf("failed to listen on healthz address %s: %w", opts.HealthzListenAddress, err)
	}
	health := healthz.NewServer(opts.LeaderElectionConfig.HealthzTimeout)
	log.V(logf.InfoLevel).Info("starting healthz server", "address", healthLn.Addr())
	g.Go(func() error { return health.Start(ctx, healthLn) })

	leading := make(chan struct{})
	if opts.LeaderElectionConfig.Enabled {
		g.Go(func() error { return lead(ctx, opts, factory, health.LeaderHealthzAdaptor, leading) })
	} else {
		close(leading)
	}
	select {
	case <-ctx.Done(): // shutting down, or something above failed
		return g.Wait()
	case <-leading:
	}

	for name, constructor := range controller.Known() {
		if !enabled.Has(name) {
			continue
		}
		c, err := constructor(factory)
		if err != nil {
			cancel()
			return errors.Join(fmt.Errorf("error starting controller %s: %w", name, err), g.Wait())
		}
		g.Go(func() error {
			log.V(logf.InfoLevel).Info("starting controller", "controller", name)
			return c.Run(opts.NumberOfConcurrentWorkers, ctx)
		})
	}
	cctx.SharedInformerFactory.Start(ctx.Done())
	cctx.KubeSharedInformerFactory.Start(ctx.Done())
	cctx.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())
	gatewayAPI := utilfeature.DefaultFeatureGate.Enabled(feature.ExperimentalGatewayAPISupport) && opts.GatewayAPIConfig.Enabled
	if gatewayAPI {
		cctx.GWShared.Start(ctx.Done())
	}

	if err := g.Wait(); err != nil {
		return fmt.Errorf("error starting controller: %w", err)
	}
	log.V(logf.InfoLevel).Info("control loops exited")
	if gatewayAPI {
		cctx.GWShared.Shutdown()
	}
	cctx.HTTP01ResourceMetadataInformersFactory.Shutdown()
	cctx.KubeSharedInformerFactory.Shutdown()
	cctx.SharedInformerFactory.Shutdown()
	return nil
}

// enabledControllers reads --controllers ('*' = the default set, 'name' adds, '-name' drops; only drops
// means '*' too), then adds what the feature gates and Gateway API options turn on, removes the cluster-scoped
// controllers when --namespace is set, and applies the drops last.
func enabledControllers(opts *config.ControllerConfiguration) sets.Set[string] {
	enabled := sets.New[string]()
	var dropped []string
	for _, name := range opts.Controllers {
		switch {
		case name == "*":
			enabled.Insert(defaults.DefaultEnabledControllers...)
		case strings.HasPrefix(name, "-"):
			dropped = append(dropped, strings.TrimPrefix(name, "-"))
		default:
			enabled.Insert(name)
		}
	}
	if enabled.Len() == 0 && len(dropped) > 0 {
		enabled.Insert(defaults.DefaultEnabledControllers...)
	}
	gate := utilfeature.DefaultFeatureGate.Enabled
	if gate(feature.ExperimentalCertificateSigningRequestControllers) {
		enabled.Insert(defaults.ExperimentalCertificateSigningRequestControllers...)
	}
	if gate(feature.ExperimentalGatewayAPISupport) && opts.GatewayAPIConfig.Enabled {
		enabled.Insert(gateways.ControllerName)
		if gate(feature.ListenerSets) && opts.GatewayAPIConfig.EnableListenerSet {
			enabled.Insert(listenerset.ControllerName)
		}
	}
	if opts.Namespace != "" {
		enabled.Delete(defaults.ClusterScopedControllers...)
	}
	return enabled.Delete(dropped...)
}

func newContextFactory(ctx context.Context, opts *config.ControllerConfiguration) (*controller.ContextFactory, error) {
	quantities := map[string]*resource.Quantity{}
	for name, value := range map[string]string{
		"acme-http01-solver-resource-request-cpu":    opts.ACMEHTTP01Config.SolverResourceRequestCPU,
		"acme-http01-solver-resource-request-memory": opts.ACMEHTTP01Config.SolverResourceRequestMemory,
		"acme-http01-solver-resource-limits-cpu":     opts.ACMEHTTP01Config.SolverResourceLimitsCPU,
		"acme-http01-solver-resource-limits-memory":  opts.ACMEHTTP01Config.SolverResourceLimitsMemory,
	} {
		q, err := resource.ParseQuantity(value)
		if err != nil {
			return nil, fmt.Errorf("error parsing %s %q: %w", name, value, err)
		}
		quantities[name] = &q
	}
	dns01Nameservers := opts.ACMEDNS01Config.RecursiveNameservers
	if len(dns01Nameservers) == 0 {
		dns01Nameservers = dnsutil.RecursiveNameservers
	}
	logf.FromContext(ctx).V(logf.InfoLevel).Info("configured acme dns01 nameservers", "nameservers", dns01Nameservers)

	return controller.NewContextFactory(ctx, controller.ContextOptions{
		Kubeconfig:         opts.KubeConfig,
		APIServerHost:      opts.APIServerHost,
		KubernetesAPIQPS:   opts.KubernetesAPIQPS,
		KubernetesAPIBurst: opts.KubernetesAPIBurst,
		Namespace:          opts.Namespace,
		IssuerOptions: controller.IssuerOptions{
			ClusterResourceNamespace:        opts.ClusterResourceNamespace,
			ClusterIssuerAmbientCredentials: opts.ClusterIssuerAmbientCredentials,
			IssuerAmbientCredentials:        opts.IssuerAmbientCredentials,
		},
		ACMEOptions: controller.ACMEOptions{
			HTTP01SolverImage:                 opts.ACMEHTTP01Config.SolverImage,
			HTTP01SolverResourceRequestCPU:    *quantities["acme-http01-solver-resource-request-cpu"],
			HTTP01SolverResourceRequestMemory: *quantities["acme-http01-solver-resource-request-memory"],
			HTTP01SolverResourceLimitsCPU:     *quantities["acme-http01-solver-resource-limits-cpu"],
			HTTP01SolverResourceLimitsMemory:  *quantities["acme-http01-solver-resource-limits-memory"],
			ACMEHTTP01SolverRunAsNonRoot:      opts.ACMEHTTP01Config.SolverRunAsNonRoot,
			HTTP01SolverRuntimeClassName:      opts.ACMEHTTP01Config.SolverRuntimeClassName,
			HTTP01SolverNameservers:           opts.ACMEHTTP01Config.SolverNameservers,
			HTTP01SolverExtraLabels:           opts.ACMEHTTP01Config.SolverExtraLabels,
			DNS01Nameservers:                  dns01Nameservers,
			DNS01CheckAuthoritative:           !opts.ACMEDNS01Config.RecursiveNameserversOnly,
			DNS01CheckRetryPeriod:             opts.ACMEDNS01Config.CheckRetryPeriod,
		},
		SchedulerOptions: controller.SchedulerOptions{MaxConcurrentChallenges: opts.MaxConcurrentChallenges},
		IngressShimOptions: controller.IngressShimOptions{
			DefaultIssuerName:                 opts.IngressShimConfig.DefaultIssuerName,
			DefaultIssuerKind:                 opts.IngressShimConfig.DefaultIssuerKind,
			DefaultIssuerGroup:                opts.IngressShimConfig.DefaultIssuerGroup,
			DefaultAutoCertificateAnnotations: opts.IngressShimConfig.DefaultAutoCertificateAnnotations,
			ExtraCertificateAnnotations:       opts.IngressShimConfig.ExtraCertificateAnnotations,
			GatewayAPIExtraProtocols:          sets.New(opts.GatewayAPIConfig.ExtraProtocols...),
		},
		CertificateOptions: controller.CertificateOptions{
			EnableOwnerRef:                           opts.EnableCertificateOwnerRef,
			CopiedAnnotationPrefixes:                 opts.CopiedAnnotationPrefixes,
			CertificateRequestMinimumBackoffDuration: opts.CertificateRequestMinimumBackoffDuration,
			CertificateRequestMaximumBackoffDuration: opts.CertificateRequestMaximumBackoffDuration,
		},
		ConfigOptions: controller.ConfigOptions{
			EnableGatewayAPI:            opts.GatewayAPIConfig.Enabled,
			EnableGatewayAPIListenerSet: opts.GatewayAPIConfig.EnableListenerSet,
		},
	})
}

// lead campaigns for the Lease cert-manager-controller and closes leading once it holds it; losing it later
// is an error, which stops the process (the Deployment, or the harness, starts it again).
func lead(ctx context.Context, opts *config.ControllerConfiguration, factory *controller.ContextFactory,
	watchdog *leaderelection.HealthzAdaptor, leading chan<- struct{}) error {
	lctx, err := factory.Build("leader-election")
	if err != nil {
		return err
	}
	host, err := os.Hostname()
	if err != nil {
		return fmt.Errorf("error getting hostname: %w", err)
	}
	le := opts.LeaderElectionConfig
	lock, err := resourcelock.NewWithLabels(resourcelock.LeasesResourceLock, le.Namespace, "cert-manager-controller",
		lctx.Client.CoreV1(), lctx.Client.CoordinationV1(),
		resourcelock.ResourceLockConfig{Identity: host + "-external-cert-manager-controller", EventRecorder: lctx.Recorder},
		map[string]string{"app.kubernetes.io/managed-by": "cert-manager"})
	if err != nil {
		return fmt.Errorf("error creating leader election lock: %w", err)
	}
	lost := make(chan error, 1)
	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   le.LeaseDuration,
		RenewDeadline:   le.RenewDeadline,
		RetryPeriod:     le.RetryPeriod,
		ReleaseOnCancel: true,
		WatchDog:        watchdog,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) { close(leading) },
			OnStoppedLeading: func() {
				if ctx.Err() == nil {
					lost <- errors.New("leader election lost")
				}
			},
		},
	})
	if err != nil {
		return err
	}
	logf.FromContext(ctx).V(logf.InfoLevel).Info("starting leader election", "namespace", le.Namespace)
	elector.Run(ctx)
	select {
	case err := <-lost:
		return err
	default:
		return nil
	}
}

// serve runs srv on ln in g until ctx ends, then gives it five seconds to shut down.
func serve(ctx context.Context, g *errgroup.Group, srv *http.Server, ln net.Listener) {
	g.Go(func() error {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown) //nolint:contextcheck // ctx has ended
	})
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
}

func ignoreEnd(err error) error {
	if cli.Ignore(err) {
		return nil
	}
	return err
}
