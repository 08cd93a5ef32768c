{{- define "peer.selector" -}}
app.kubernetes.io/name: {{ .engine }}
app.kubernetes.io/instance: {{ .name }}
{{- end -}}
{{- define "peer.labels" -}}
{{ include "peer.selector" . }}
app.kubernetes.io/managed-by: Helm
app.kubernetes.io/part-of: strata
strata.dev/workload: {{ .name }}
{{- end -}}
