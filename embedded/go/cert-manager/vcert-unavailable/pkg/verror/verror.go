// Package verror: compile-only names for cert-manager's Venafi issuer (see the module's doc.go).
package verror

import "errors"

var ServerUnavailableError = errors.New("server unavailable")
