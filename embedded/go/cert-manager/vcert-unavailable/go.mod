// Not Venafi's vcert: a compile-only replacement of the project's own, holding just the names that
// cert-manager v1.21.1's Venafi issuer refers to. See doc.go.
module github.com/Venafi/vcert/v5

go 1.24
