// Package certificate: compile-only names for cert-manager's Venafi issuer (see the module's doc.go).
package certificate

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"time"

	"github.com/Venafi/vcert/v5/pkg/util"
)

type CustomFieldType int

const (
	CustomFieldPlain CustomFieldType = iota
	CustomFieldOrigin
)

type CustomField struct {
	Type        CustomFieldType
	Name, Value string
}

type CSrOriginOption int

const UserProvidedCSR CSrOriginOption = 1

type ChainOption int

const ChainOptionRootLast ChainOption = 1

type Request struct {
	Subject          pkix.Name
	FriendlyName     string
	PickupID         string
	Timeout          time.Duration
	ValidityDuration *time.Duration
	IssuerHint       util.IssuerHint
	ChainOption      ChainOption
	CsrOrigin        CSrOriginOption
	CustomFields     []CustomField
	csr              []byte
}

func NewRequest(*x509.Certificate) *Request { return &Request{} }

func (r *Request) SetCSR(csr []byte) error { r.csr = csr; return nil }

type PEMCollection struct {
	Certificate string
	Chain       []string
}
