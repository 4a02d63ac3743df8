// Command local-volumes is the local cluster's dynamic volume provisioner: a
// PersistentVolumeClaim of StorageClass "slotbook-local" gets a directory under
// --root on the node and a `local` PersistentVolume pinned to that node; the
// directory is removed when the volume is released with reclaim policy Delete.
//
// It runs on the host next to the kubelet (hack/cluster/up.sh), like the
// cluster's other daemons, so it needs no image and no privileged pod. The
// claim-to-volume bookkeeping (selected node, binding, retries, deletion) is
// sig-storage-lib-external-provisioner's; this file only makes and removes
// directories. `local` volumes (unlike hostPath) get the pod's fsGroup applied
// by the kubelet, which CloudNativePG's instances (UID/GID 26) rely on.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v13/controller"
)

// provisionerName is what the StorageClass names in its provisioner field.
const provisionerName = "slotbook.local/local-volumes"

type localVolumes struct {
	root string // where the volumes' directories live on this node
	node string // the only node they can be used on
}

func (l *localVolumes) Provision(_ context.Context, o controller.ProvisionOptions) (*corev1.PersistentVolume, controller.ProvisioningState, error) {
	if o.SelectedNodeName != "" && o.SelectedNodeName != l.node {
		return nil, controller.ProvisioningFinished, &controller.IgnoredError{Reason: "volume requested on node " + o.SelectedNodeName}
	}
	dir := filepath.Join(l.root, o.PVName)
	// 0770 root:root; the kubelet gives the group to the pod's fsGroup when it mounts it.
	if err := os.MkdirAll(dir, 0o770); err != nil {
		return nil, controller.ProvisioningFinished, fmt.Errorf("make %s: %w", dir, err)
	}
	reclaim := corev1.PersistentVolumeReclaimDelete
	if o.StorageClass.ReclaimPolicy != nil {
		reclaim = *o.StorageClass.ReclaimPolicy
	}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: o.PVName},
		Spec: corev1.PersistentVolumeSpec{
			PersistentVolumeReclaimPolicy: reclaim,
			AccessModes:                   o.PVC.Spec.AccessModes,
			VolumeMode:                    o.PVC.Spec.VolumeMode,
			// The claim's request: a directory has no size of its own (no quota is enforced).
			Capacity:     corev1.ResourceList{corev1.ResourceStorage: o.PVC.Spec.Resources.Requests[corev1.ResourceStorage]},
			MountOptions: o.StorageClass.MountOptions,
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				Local: &corev1.LocalVolumeSource{Path: dir},
			},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
					Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{l.node},
				}}}},
			}},
		},
	}
	return pv, controller.ProvisioningFinished, nil
}

func (l *localVolumes) Delete(_ context.Context, pv *corev1.PersistentVolume) error {
	if pv.Spec.Local == nil {
		return &controller.IgnoredError{Reason: "not a local volume"}
	}
	dir := filepath.Clean(pv.Spec.Local.Path)
	// Never remove anything outside our root, whatever a PV object says.
	if filepath.Dir(dir) != filepath.Clean(l.root) {
		return fmt.Errorf("refusing to remove %s: not directly under %s", dir, l.root)
	}
	if err := os.RemoveAll(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the provisioner")
	root := flag.String("root", "", "directory the volumes are made in")
	node := flag.String("node", "", "name of this node (the volumes' node affinity)")
	klog.InitFlags(nil)
	flag.Parse()
	if *kubeconfig == "" || *root == "" || *node == "" {
		klog.Exit("--kubeconfig, --root and --node are required")
	}
	if err := os.MkdirAll(*root, 0o711); err != nil {
		klog.Exit(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		klog.Exit(err)
	}
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	pc := controller.NewProvisionController(ctx, client, provisionerName,
		&localVolumes{root: *root, node: *node},
		controller.LeaderElection(false), // one node, one provisioner
	)
	klog.InfoS("provisioning local volumes", "provisioner", provisionerName, "root", *root, "node", *node)
	pc.Run(ctx)
}
