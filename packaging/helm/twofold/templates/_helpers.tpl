{{- define "twofold.name" -}}{{ .Release.Name }}-twofold{{- end -}}
{{- define "twofold.labels" -}}
app.kubernetes.io/name: twofold
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}
{{- define "twofold.selector" -}}
app.kubernetes.io/name: twofold
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
