// Package util: compile-only names for cert-manager's Venafi issuer (see the module's doc.go).
package util

type IssuerHint int

const IssuerHintAllIssuers IssuerHint = 0
