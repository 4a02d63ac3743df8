package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// blob is one content-addressed file of the archive.
type blob struct {
	size int64
	open func() (io.ReadCloser, error)
}

// writeArchive writes idx as one tar file that is both
//   - an OCI image layout (oci-layout, index.json, blobs/sha256/…) holding the multi-arch index,
//     named by the annotations containerd, Docker ≥ 25 and podman read
//     (io.containerd.image.name = the full reference, org.opencontainers.image.ref.name = the tag);
//   - a `docker save` archive (manifest.json) for the image of dockerPlatform, for loaders that
//     only know that format (Docker's classic image store, go-containerregistry's tarball package).
//
// Entries are sorted, with fixed owners, modes and mtime, so the file itself is reproducible.
func writeArchive(out string, idx v1.ImageIndex, ref name.Tag, dockerPlatform v1.Platform, mtime time.Time) error {
	blobs := map[string]blob{}
	addRaw := func(h v1.Hash, raw []byte) {
		blobs[h.Hex] = blob{size: int64(len(raw)), open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(raw)), nil
		}}
	}
	rawIdx, err := idx.RawManifest()
	if err != nil {
		return err
	}
	idxDigest, err := idx.Digest()
	if err != nil {
		return err
	}
	addRaw(idxDigest, rawIdx)
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	var docker []map[string]any
	for _, desc := range im.Manifests {
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return err
		}
		raw, err := img.RawManifest()
		if err != nil {
			return err
		}
		addRaw(desc.Digest, raw)
		cfgName, err := img.ConfigName()
		if err != nil {
			return err
		}
		rawCfg, err := img.RawConfigFile()
		if err != nil {
			return err
		}
		addRaw(cfgName, rawCfg)
		layers, err := img.Layers()
		if err != nil {
			return err
		}
		var layerPaths []string
		for _, l := range layers {
			d, err := l.Digest()
			if err != nil {
				return err
			}
			size, err := l.Size()
			if err != nil {
				return err
			}
			blobs[d.Hex] = blob{size: size, open: l.Compressed}
			layerPaths = append(layerPaths, "blobs/sha256/"+d.Hex)
		}
		if desc.Platform != nil && desc.Platform.Equals(dockerPlatform) {
			docker = append(docker, map[string]any{
				"Config":   "blobs/sha256/" + cfgName.Hex,
				"RepoTags": []string{ref.Name()},
				"Layers":   layerPaths,
			})
		}
	}
	if len(docker) != 1 {
		return fmt.Errorf("archive %s: no image for %s in the index", out, dockerPlatform.String())
	}
	layoutIndex := v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests: []v1.Descriptor{{
			MediaType: types.OCIImageIndex,
			Digest:    idxDigest,
			Size:      int64(len(rawIdx)),
			Annotations: map[string]string{
				"io.containerd.image.name":          ref.Name(),
				"org.opencontainers.image.ref.name": ref.TagStr(),
			},
		}},
	}
	indexJSON, err := json.Marshal(layoutIndex)
	if err != nil {
		return err
	}
	manifestJSON, err := json.Marshal(docker)
	if err != nil {
		return err
	}

	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".tmp-"+filepath.Base(out))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	tw := tar.NewWriter(tmp)
	hdr := func(name string, typ byte, size int64) *tar.Header {
		mode := int64(0o644)
		if typ == tar.TypeDir {
			mode = 0o755
		}
		return &tar.Header{Typeflag: typ, Name: name, Size: size, Mode: mode,
			ModTime: mtime.UTC().Truncate(time.Second), Format: tar.FormatUSTAR}
	}
	writeFile := func(name string, data []byte) error {
		if err := tw.WriteHeader(hdr(name, tar.TypeReg, int64(len(data)))); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	// Sorted: blobs/ < index.json < manifest.json < oci-layout.
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(hdr(d, tar.TypeDir, 0)); err != nil {
			return err
		}
	}
	hexes := make([]string, 0, len(blobs))
	for h := range blobs {
		hexes = append(hexes, h)
	}
	sort.Strings(hexes)
	for _, h := range hexes {
		b := blobs[h]
		if err := tw.WriteHeader(hdr("blobs/sha256/"+h, tar.TypeReg, b.size)); err != nil {
			return err
		}
		rc, err := b.open()
		if err != nil {
			return err
		}
		n, err := io.Copy(tw, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("blob %s: %w", h, err)
		}
		if n != b.size {
			return fmt.Errorf("blob %s: wrote %d bytes, want %d", h, n, b.size)
		}
	}
	if err := writeFile("index.json", indexJSON); err != nil {
		return err
	}
	if err := writeFile("manifest.json", manifestJSON); err != nil {
		return err
	}
	if err := writeFile("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}
