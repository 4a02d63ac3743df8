package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/slotbook/slotbook/internal/testenv"
)

// startEnvtest starts a fresh kube-apiserver and etcd with the operator's and the third-party CRDs.
func startEnvtest() (*envtest.Environment, *rest.Config, error) {
	crds, err := testenv.CRDDirectoryPaths(filepath.Join("..", ".."))
	if err != nil {
		return nil, nil, err
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     crds,
		ErrorIfCRDPathMissing: true,
	}
	// envtest's default Service range, 10.0.0.0/24, runs out after about 250 tenants (each has a
	// Service with a cluster IP).
	env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", "10.0.0.0/16")
	cfg, err := env.Start()
	if err != nil {
		return nil, nil, fmt.Errorf("starting envtest: %w", err)
	}
	return env, cfg, nil
}

// parallel calls fn(0..n-1) from the given number of goroutines and returns the first error
// (after which no new calls start).
func parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, workers) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return context.Cause(ctx) // fn's error, or the parent's cancellation
	}
	return nil
}
