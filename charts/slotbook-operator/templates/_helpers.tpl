{{/*
The prefix of every object's name: "slotbook" unless fullnameOverride is set. Objects are named
like config/default's (slotbook-operator, slotbook-manager-role, ...), so both installs look alike.
*/}}
{{- define "slotbook.fullname" -}}
{{- default "slotbook" .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "slotbook.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "slotbook.labels" -}}
app.kubernetes.io/name: slotbook
app.kubernetes.io/part-of: slotbook
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "slotbook.chart" . }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels of the operator's own objects. */}}
{{- define "slotbook.operatorLabels" -}}
{{ include "slotbook.labels" . }}
app.kubernetes.io/component: operator
{{- end -}}

{{/* The operator's pods: the same selector as config/manager. */}}
{{- define "slotbook.selectorLabels" -}}
app.kubernetes.io/name: slotbook
app.kubernetes.io/component: operator
{{- end -}}

{{- define "slotbook.serviceAccountName" -}}
{{- if .Values.serviceAccount.name -}}
{{ .Values.serviceAccount.name }}
{{- else -}}
{{ include "slotbook.fullname" . }}-operator
{{- end -}}
{{- end -}}

{{- define "slotbook.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ $tag }}
{{- end -}}
{{- end -}}
