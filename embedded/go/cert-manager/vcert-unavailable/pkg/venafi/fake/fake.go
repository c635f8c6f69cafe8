// Package fake is empty: only cert-manager's own tests import it, and this replacement builds none of them.
// It exists so that `go mod tidy`, which resolves the imports of dependencies' tests too, finds it.
package fake
