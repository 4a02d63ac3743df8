package controllers

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// samplesDir holds the example objects users apply first (kubectl apply -k config/samples).
var samplesDir = filepath.Join("..", "config", "samples")

// sampleObject is one YAML document of a sample file.
type sampleObject struct {
	file string
	obj  *unstructured.Unstructured
}

// readSamples decodes every YAML document of every sample file except kustomization.yaml.
func readSamples(t *testing.T) (files []string, objs []sampleObject) {
	t.Helper()
	entries, err := os.ReadDir(samplesDir)
	if err != nil {
		t.Fatalf("reading %s: %v", samplesDir, err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || name == "kustomization.yaml" || (!strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(name, ".yml")) {
			continue
		}
		files = append(files, name)
		data, err := os.ReadFile(filepath.Join(samplesDir, name))
		if err != nil {
			t.Fatal(err)
		}
		reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for i := 0; ; i++ {
			doc, err := reader.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: document %d: %v", name, i, err)
			}
			var content map[string]any
			if err := yaml.Unmarshal(doc, &content); err != nil {
				t.Fatalf("%s: document %d is not valid YAML: %v", name, i, err)
			}
			if len(content) == 0 { // only comments, or an empty document between separators
				continue
			}
			objs = append(objs, sampleObject{file: name, obj: &unstructured.Unstructured{Object: content}})
		}
	}
	return files, objs
}

// TestSamplesAreValid creates every sample with the API server (as a dry run, so the samples'
// default class cannot affect other tests), with strict field validation so that a misspelt field
// fails instead of being silently dropped.
func TestSamplesAreValid(t *testing.T) {
	files, objs := readSamples(t)
	if len(objs) == 0 {
		t.Fatalf("no samples found in %s", samplesDir)
	}

	// Every sample file must be in the kustomization, or `kubectl apply -k` skips it.
	var kustomization struct {
		Resources []string `json:"resources"`
	}
	data, err := os.ReadFile(filepath.Join(samplesDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &kustomization); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	for _, f := range files {
		if !slices.Contains(kustomization.Resources, f) {
			t.Errorf("%s is not listed in %s/kustomization.yaml resources %v", f, samplesDir, kustomization.Resources)
		}
	}

	kinds := map[string]bool{}
	for _, s := range objs {
		gvk := s.obj.GroupVersionKind()
		kinds[gvk.Kind] = true
		t.Run(s.file+"/"+gvk.Kind+"/"+s.obj.GetName(), func(t *testing.T) {
			if gvk.Kind == "" || gvk.Version == "" {
				t.Fatalf("%s: a document has no apiVersion or kind", s.file)
			}
			obj := s.obj.DeepCopy()
			err := k8s.Create(context.Background(), obj, client.DryRunAll, client.FieldValidation("Strict"))
			if err != nil {
				t.Fatalf("the API server rejected %s %q from %s:\n%v", gvk.Kind, s.obj.GetName(), s.file, err)
			}
		})
	}
	for _, want := range []string{"Tenant", "TenantClass"} {
		if !kinds[want] {
			t.Errorf("config/samples has no %s", want)
		}
	}
}
