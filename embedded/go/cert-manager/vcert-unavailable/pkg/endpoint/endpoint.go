// Package endpoint: compile-only names for cert-manager's Venafi issuer (see the module's doc.go).
package endpoint

import (
	"errors"

	"github.com/Venafi/vcert/v5/pkg/certificate"
)

// ErrUnavailable is what every entry point of this replacement returns.
var ErrUnavailable = errors.New("Venafi issuers are not supported by this cert-manager build " +
	"(github.com/Venafi/vcert/v5 is not available from the Go module proxy; kserve-triton builds against a compile-only replacement)")

type ConnectorType int

const (
	ConnectorTypeUndefined ConnectorType = iota
	ConnectorTypeTPP
	ConnectorTypeCloud
	ConnectorTypeNGTS
)

type Authentication struct {
	User, Password, APIKey, AccessToken, ClientId, ClientSecret, Scope, TokenURL string
}

type Connector interface {
	GetType() ConnectorType
	Ping() error
	ReadZoneConfiguration() (*ZoneConfiguration, error)
	RequestCertificate(req *certificate.Request) (string, error)
	RetrieveCertificate(req *certificate.Request) (*certificate.PEMCollection, error)
}

type ZoneConfiguration struct{}

func (*ZoneConfiguration) UpdateCertificateRequest(*certificate.Request) {}

func (*ZoneConfiguration) ValidateCertificateRequest(*certificate.Request) error {
	return ErrUnavailable
}

type ErrCertificatePending struct{}

func (ErrCertificatePending) Error() string { return ErrUnavailable.Error() }

type ErrRetrieveCertificateTimeout struct{}

func (ErrRetrieveCertificateTimeout) Error() string { return ErrUnavailable.Error() }
