// Package ext holds the extension points of Traefik's dynamic configuration;
// the open-source build extends nothing (see go.mod).
package ext

// HTTP is inlined into dynamic.HTTP.
type HTTP struct{}

// Router is inlined into dynamic.Router.
type Router struct{}
