// Package ngts: compile-only names for cert-manager's Venafi issuer (see the module's doc.go).
package ngts

import (
	"github.com/Venafi/vcert/v5/pkg/certificate"
	"github.com/Venafi/vcert/v5/pkg/endpoint"
)

// Connector is never constructed: vcert.NewClient always fails.
type Connector struct{}

func (*Connector) GetType() endpoint.ConnectorType { return endpoint.ConnectorTypeNGTS }
func (*Connector) Ping() error                     { return endpoint.ErrUnavailable }
func (*Connector) ReadZoneConfiguration() (*endpoint.ZoneConfiguration, error) {
	return nil, endpoint.ErrUnavailable
}
func (*Connector) RequestCertificate(*certificate.Request) (string, error) {
	return "", endpoint.ErrUnavailable
}
func (*Connector) RetrieveCertificate(*certificate.Request) (*certificate.PEMCollection, error) {
	return nil, endpoint.ErrUnavailable
}
func (*Connector) Authenticate(*endpoint.Authentication) error { return endpoint.ErrUnavailable }
