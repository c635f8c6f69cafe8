// Package vcert is NOT Venafi's vcert library. It is a compile-only replacement, written for kserve-triton,
// because the Go module proxy this project may use refuses github.com/Venafi/vcert/v5@v5.13.7 (the version
// cert-manager v1.21.1 pins) and lists no other version.
//
// cert-manager's controller cannot be built without the package: its configuration defaults
// (internal/apis/config/controller/v1alpha1) import every controller, the Venafi ones among them. This module
// declares only the identifiers those packages use. NewClient always fails, so a Venafi Issuer or
// ClusterIssuer is reported as not ready with ErrUnavailable and none of the other methods is ever reached;
// every other issuer type (ACME, CA, self-signed, Vault) is unaffected.
package vcert

import (
	"net/http"

	"github.com/Venafi/vcert/v5/pkg/endpoint"
)

// Config carries the fields cert-manager sets; nothing reads them.
type Config struct {
	ConnectorType   endpoint.ConnectorType
	BaseUrl         string
	Zone            string
	LogVerbose      bool
	ConnectionTrust string
	Credentials     *endpoint.Authentication
	Client          *http.Client
}

// NewClient always fails: Venafi support is not part of this build.
func NewClient(_ *Config, _ ...bool) (endpoint.Connector, error) {
	return nil, endpoint.ErrUnavailable
}
