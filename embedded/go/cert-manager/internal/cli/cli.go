// Package cli is what the three cert-manager programs of this module share: the command line (flags over an
// optional --config file over the defaults), logging and exit codes, and serving certificates for metrics.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	logsapi "k8s.io/component-base/logs/api/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/cert-manager/cert-manager/internal/apis/config/shared"
	cmdutil "github.com/cert-manager/cert-manager/internal/cmd/util"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	servertls "github.com/cert-manager/cert-manager/pkg/server/tls"
	"github.com/cert-manager/cert-manager/pkg/server/tls/authority"
	"github.com/cert-manager/cert-manager/pkg/util"
	"github.com/cert-manager/cert-manager/pkg/util/configfile"
	utilfeature "github.com/cert-manager/cert-manager/pkg/util/feature"
)

// Program is one cert-manager binary, described by its internal configuration type C.
type Program[C any] struct {
	Name string // the logger's name and the command's
	Long string
	// Defaults returns the configuration before any flag or file is read.
	Defaults func() (*C, error)
	// Bind registers the program's flags (all but --config) on fs, writing into c.
	Bind func(fs *pflag.FlagSet, c *C)
	// File returns the configuration in a --config file, its unset fields defaulted.
	File func(path string) (*C, error)
	// Gates, Logging and Validate read the parts of C that every program has.
	Gates    func(c *C) map[string]bool
	Logging  func(c *C) *logsapi.LoggingConfiguration
	Validate func(c *C) error
	Run      func(ctx context.Context, c *C) error
}

// Main runs p as the process, with the arguments of os.Args, and exits with its status: 1 on an error, 124
// when a deadline ran out, and after SIGINT or SIGTERM the graceful shutdown's own (cert-manager's exit handler).
func Main[C any](p Program[C]) {
	ctx, exit := cmdutil.SetupExitHandler(context.Background(), cmdutil.GracefulShutdown)
	defer exit() // last: it may call os.Exit

	logf.InitLogs()
	defer logf.FlushLogs()
	ctrl.SetLogger(logf.Log)
	ctx = logf.NewContext(ctx, logf.Log, p.Name)

	if err := p.Command(ctx, os.Args[1:]).ExecuteContext(ctx); err != nil {
		logf.Log.Error(err, "error executing command")
		cmdutil.SetExitCode(err)
	}
}

// Command is p's command line for args. The value of a flag given in args wins over the --config file, which
// wins over the defaults.
func (p Program[C]) Command(ctx context.Context, args []string) *cobra.Command {
	cfg, defaultsErr := p.Defaults()
	if defaultsErr != nil {
		cfg = new(C)
	}
	var configPath string
	addConfigFlag := func(fs *pflag.FlagSet) {
		fs.StringVar(&configPath, "config", "", "Path to a file holding this component's configuration object ("+
			"config.cert-manager.io/v1alpha1); flags given on the command line override its values")
	}

	cmd := &cobra.Command{
		Use:           p.Name,
		Long:          p.Long,
		Version:       util.AppVersion,
		SilenceErrors: true, // Main logs the error
		SilenceUsage:  true,
		PreRunE: func(*cobra.Command, []string) error {
			if defaultsErr != nil {
				return fmt.Errorf("building the default configuration: %w", defaultsErr)
			}
			// The gates given as flags already count while the file is decoded.
			if err := setGates(p.Gates(cfg)); err != nil {
				return err
			}
			if configPath != "" {
				merged, err := p.fromFile(configPath, args, addConfigFlag)
				if err != nil {
					return err
				}
				*cfg = *merged
				if err := setGates(p.Gates(cfg)); err != nil {
					return err
				}
			}
			if err := p.Validate(cfg); err != nil {
				return fmt.Errorf("error validating flags: %w", err)
			}
			if err := logf.ValidateAndApply(p.Logging(cfg)); err != nil {
				return fmt.Errorf("failed to apply the logging flags: %w", err)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := logf.FromContext(cmd.Context())
			v := util.VersionInfo()
			log.Info("starting cert-manager "+p.Name, "version", v.GitVersion, "git_commit", v.GitCommit,
				"go_version", v.GoVersion, "platform", v.Platform)
			return p.Run(cmd.Context(), cfg)
		},
	}
	addConfigFlag(cmd.Flags())
	// Declared before cobra would add its own, which takes the shorthand -v.
	cmd.Flags().Bool("version", false, "Print the version ("+util.AppVersion+") and exit")
	p.Bind(cmd.Flags(), cfg)
	cmd.SetArgs(args)
	cmd.SetContext(ctx)
	return cmd
}

// fromFile reads the --config file and then applies args to it again through a fresh flag set: re-parsing the
// command's own flag set would append list flags to the values they already hold.
func (p Program[C]) fromFile(path string, args []string, addConfigFlag func(*pflag.FlagSet)) (*C, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("failed to load config file %s: %w", path, err)
	}
	cfg, err := p.File(abs)
	if err != nil {
		return nil, fmt.Errorf("failed to load config file %s: %w", path, err)
	}
	fs := pflag.NewFlagSet(p.Name, pflag.ContinueOnError)
	addConfigFlag(fs)
	fs.Bool("version", false, "")
	p.Bind(fs, cfg)
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("failed to re-parse flags over config file %s: %w", path, err)
	}
	return cfg, nil
}

func setGates(gates map[string]bool) error {
	if err := utilfeature.DefaultMutableFeatureGate.SetFromMap(gates); err != nil {
		return fmt.Errorf("failed to set feature gates: %w", err)
	}
	return nil
}

// Defaulted converts the defaulted versioned configuration object into the internal type.
func Defaulted[C any](scheme *runtime.Scheme, versioned runtime.Object) (*C, error) {
	scheme.Default(versioned)
	internal := new(C)
	if err := scheme.Convert(versioned, internal, nil); err != nil {
		return nil, err
	}
	return internal, nil
}

// LoadFile decodes a configuration file through one of cert-manager's configfile types (whose Config field
// is read by config after the load).
func LoadFile(path string, file configfile.ConfigFile) error {
	loader, err := configfile.NewConfigurationFSLoader(nil, path)
	if err != nil {
		return err
	}
	return loader.Load(file)
}

// CertificateSource serves the certificate that tlsConfig names: files on disk, or leaves signed by a CA that
// cert-manager keeps in a Secret (labelled app.kubernetes.io/managed-by=managedBy). Nil means plain HTTP.
func CertificateSource(tlsConfig shared.TLSConfig, restConfig *rest.Config, managedBy string) servertls.CertificateSource {
	switch {
	case tlsConfig.FilesystemConfigProvided():
		return &servertls.FileCertificateSource{CertPath: tlsConfig.Filesystem.CertFile, KeyPath: tlsConfig.Filesystem.KeyFile}
	case tlsConfig.DynamicConfigProvided():
		return &servertls.DynamicSource{
			DNSNames: tlsConfig.Dynamic.DNSNames,
			Authority: &authority.DynamicAuthority{
				SecretNamespace: tlsConfig.Dynamic.SecretNamespace,
				SecretName:      tlsConfig.Dynamic.SecretName,
				SecretLabels:    map[string]string{"app.kubernetes.io/managed-by": managedBy},
				LeafDuration:    tlsConfig.Dynamic.LeafDuration,
				RESTConfig:      restConfig,
			},
		}
	}
	return nil
}

// Ignore reports whether err is only the end of the process's context.
func Ignore(err error) bool {
	return err == nil || errors.Is(err, context.Canceled)
}
