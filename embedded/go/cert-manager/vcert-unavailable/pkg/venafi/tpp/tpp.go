// Package tpp: compile-only names for cert-manager's Venafi issuer (see the module's doc.go).
package tpp

import (
	"github.com/Venafi/vcert/v5/pkg/certificate"
	"github.com/Venafi/vcert/v5/pkg/endpoint"
)

// Connector is never constructed: vcert.NewClient always fails.
type Connector struct{}

func (*Connector) GetType() endpoint.ConnectorType { return endpoint.ConnectorTypeTPP }
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

func (*Connector) ResetCertificate(*certificate.Request, bool) error { return endpoint.ErrUnavailable }

type OauthRefreshAccessTokenResponse struct {
	Access_token  string
	Refresh_token string
}

func (*Connector) GetRefreshToken(*endpoint.Authentication) (OauthRefreshAccessTokenResponse, error) {
	return OauthRefreshAccessTokenResponse{}, endpoint.ErrUnavailable
}

type OauthVerifyTokenResponse struct{}

func (*Connector) VerifyAccessToken(*endpoint.Authentication) (OauthVerifyTokenResponse, error) {
	return OauthVerifyTokenResponse{}, endpoint.ErrUnavailable
}

type ErrCertNotFound struct{}

func (*ErrCertNotFound) Error() string { return "certificate not found" }
