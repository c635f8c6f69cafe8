// Command webhook is cert-manager's webhook (v1.21.1): validation and defaulting of cert-manager's resources,
// served with a certificate from its own dynamic CA (or from files). The main is kserve-triton's own: upstream's
// cmd/webhook module is not published; the flags and the server are the root module's.
package main

import (
	"context"

	logsapi "k8s.io/component-base/logs/api/v1"

	"github.com/cert-manager/cert-manager/kserve-triton-parts/internal/cli"

	config "github.com/cert-manager/cert-manager/internal/apis/config/webhook"
	"github.com/cert-manager/cert-manager/internal/apis/config/webhook/validation"
	cmwebhook "github.com/cert-manager/cert-manager/internal/webhook"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	webhookconfigfile "github.com/cert-manager/cert-manager/pkg/webhook/configfile"
	"github.com/cert-manager/cert-manager/pkg/webhook/options"
)

var program = cli.Program[config.WebhookConfiguration]{
	Name:     "webhook",
	Long:     "cert-manager's webhook: validates and defaults cert-manager's resources for the API server.",
	Defaults: options.NewWebhookConfiguration,
	Bind:     options.AddConfigFlags,
	File: func(path string) (*config.WebhookConfiguration, error) {
		f := webhookconfigfile.New()
		if err := cli.LoadFile(path, f); err != nil {
			return nil, err
		}
		return f.Config, nil
	},
	Gates:   func(c *config.WebhookConfiguration) map[string]bool { return c.FeatureGates },
	Logging: func(c *config.WebhookConfiguration) *logsapi.LoggingConfiguration { return &c.Logging },
	Validate: func(c *config.WebhookConfiguration) error {
		return validation.ValidateWebhookConfiguration(c, nil).ToAggregate()
	},
	Run: func(ctx context.Context, c *config.WebhookConfiguration) error {
		srv, err := cmwebhook.NewCertManagerWebhookServer(logf.FromContext(ctx), *c)
		if err != nil {
			return err
		}
		return srv.Run(ctx)
	},
}

func main() { cli.Main(program) }
