// Stand-in for github.com/traefik/traefik/dynamic/ext, an extension point of
// Traefik's dynamic configuration that Traefik's go.mod takes from a directory
// of its repository (./pkg/config/dynamic/ext) and that the Go module proxy
// does not serve. Upstream's open-source version is the same: empty structs.
// Used by hack/demo/build.sh (traefik) through a `replace` in the wrapper module.
module github.com/traefik/traefik/dynamic/ext

go 1.24.0
