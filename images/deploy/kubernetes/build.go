// Package kubernetes holds the Kustomize base, overlays and components of
// one desktop per user (see README "Running on Kubernetes"), and builds
// them for tests: Build runs Kustomize as `kubectl apply -k` does and
// decodes every object strictly into the Kubernetes API types, so a field
// the API does not know is an error, not silently dropped as a cluster's
// client-side apply may do.
package kubernetes

import (
	"bytes"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Desktop is what an overlay builds to.
type Desktop struct {
	StatefulSet *appsv1.StatefulSet
	Service     *corev1.Service
	// YAML is the whole output, as `kubectl kustomize DIR` prints it.
	YAML []byte
}

// Container returns the desktop container of the pod template.
func (d *Desktop) Container() (*corev1.Container, error) {
	for i, c := range d.StatefulSet.Spec.Template.Spec.Containers {
		if c.Name == "desktop" {
			return &d.StatefulSet.Spec.Template.Spec.Containers[i], nil
		}
	}
	return nil, fmt.Errorf("statefulset %s: no container named desktop", d.StatefulSet.Name)
}

// Build runs Kustomize on dir (an overlay or any kustomization) and
// decodes its objects strictly. It expects exactly one StatefulSet and
// one Service, and refuses any other kind.
func Build(dir string) (*Desktop, error) {
	return BuildFS(filesys.MakeFsOnDisk(), dir)
}

// BuildFS is Build on another file system (an in-memory copy with a
// user's own kustomization added, in tests).
func BuildFS(fs filesys.FileSystem, dir string) (*Desktop, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(fs, dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	out, err := res.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	d := &Desktop{YAML: out}
	for _, r := range res.Resources() {
		doc, err := r.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("kustomize build %s: %s: %w", dir, r.CurId(), err)
		}
		id := r.CurId()
		switch r.GetKind() {
		case "StatefulSet":
			if d.StatefulSet != nil {
				return nil, fmt.Errorf("%s: a second StatefulSet %s", dir, id)
			}
			d.StatefulSet = &appsv1.StatefulSet{}
			err = DecodeStrict(doc, d.StatefulSet)
		case "Service":
			if d.Service != nil {
				return nil, fmt.Errorf("%s: a second Service %s", dir, id)
			}
			d.Service = &corev1.Service{}
			err = DecodeStrict(doc, d.Service)
		default:
			err = fmt.Errorf("unexpected kind %s", r.GetKind())
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", dir, id, err)
		}
	}
	if d.StatefulSet == nil || d.Service == nil {
		return nil, fmt.Errorf("%s: want one StatefulSet and one Service, got %d objects", dir, len(res.Resources()))
	}
	return d, nil
}

// DecodeStrict decodes one YAML document into v: unknown fields and
// duplicate keys are errors.
func DecodeStrict(doc []byte, v any) error {
	if bytes.Contains(doc, []byte("\n---")) {
		return fmt.Errorf("more than one YAML document")
	}
	return yaml.UnmarshalStrict(doc, v)
}
