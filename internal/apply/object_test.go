package apply

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// testObject is a minimal typed object with the fields that trouble apply: a timestamp that
// serialises as null and a status.
type testObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Status            struct {
		Phase string `json:"phase"`
	} `json:"status"`
}

func (o *testObject) DeepCopyObject() runtime.Object {
	c := *o
	return &c
}
