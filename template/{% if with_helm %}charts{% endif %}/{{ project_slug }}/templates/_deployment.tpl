{{/* The service's Deployment for one track: `stable` (the release's own name and replicaCount;
     its selector is the one earlier releases created, which never changes on upgrade) or
     `canary` (canary.*: <fullname>-canary, its own image and model, replicas by canary.weight).
     Both tracks' pods carry `track` and match the Service, the PDB and the NetworkPolicy. */}}
{{- define "app.deployment" -}}
{{- $canary := eq .track "canary" }}
{{- with .root }}
{{- $name := include "app.fullname" . }}
{{- $image := include "app.serverImage" . }}
{{- if $canary }}
{{- $name = printf "%s-canary" $name }}
{{- $image = include "app.canaryImage" . }}
{{- end }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
    app.kubernetes.io/component: server
    track: {{ $.track }}
  {{- with include "app.checkovSkips" (dict "root" . "image" $image "secretEnv" true) }}
  annotations:
    {{- . | nindent 4 }}
  {{- end }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ if $canary }}{{ include "app.canaryReplicas" (dict "root" . "stable" .Values.replicaCount) }}{{ else }}{{ .Values.replicaCount }}{{ end }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "app.selectorLabels" . | nindent 6 }}
      app.kubernetes.io/component: server
      {{- if $canary }}
      track: canary
      {{- end }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  template:
    metadata:
      annotations:
        # Roll the pods when the configuration changes.
        checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
        {{- with .Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      labels:
        {{- include "app.labels" . | nindent 8 }}
        app.kubernetes.io/component: server
        track: {{ $.track }}
        {{- with .Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "app.serviceAccountName" . }}
      automountServiceAccountToken: false
      {{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- include "app.podSecurityContext" . | nindent 8 }}
      containers:
        - name: server
          image: {{ $image | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          securityContext:
            {{- include "app.containerSecurityContext" . | nindent 12 }}
          ports:
            - name: http
              containerPort: 8080
              protocol: TCP
            # /metrics only (METRICS_PORT): the port 8080 no longer serves it.
            - name: metrics
              containerPort: {{ .Values.monitoring.metricsPort }}
              protocol: TCP
          envFrom:
            {{- include "app.envFrom" . | nindent 12 }}
          {{- $model := include "app.canaryModelEnv" . }}
          {{- if or .Values.predictionLog.enabled (and $canary $model) }}
          env:
            {{- if .Values.predictionLog.enabled }}
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            - name: PREDICTION_LOG_DIR
              value: {{ .Values.predictionLog.mountPath | quote }}
            {{- end }}
            {{- if and $canary $model }}
            # The canary's model (canary.model) instead of the ConfigMap's.
            {{- $model | trim | nindent 12 }}
            {{- end }}
          {{- end }}
          # Up while the model loads; liveness and readiness take over once it answers.
          startupProbe:
            httpGet:
              path: /health
              port: http
            periodSeconds: 5
            failureThreshold: {{ div .Values.startupTimeoutSeconds 5 }}
          livenessProbe:
            httpGet:
              path: /health
              port: http
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          # Ready (in the Service) only once the model is loaded.
          readinessProbe:
            httpGet:
              path: /ready
              port: http
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 3
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- if .Values.predictionLog.enabled }}
            - name: prediction-log
              mountPath: {{ .Values.predictionLog.mountPath | quote }}
              subPathExpr: $(POD_NAME)
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 256Mi
        {{- with .Values.predictionLog }}
        {{- if .enabled }}
        - name: prediction-log
          {{- if .existingClaim }}
          persistentVolumeClaim:
            claimName: {{ .existingClaim }}
          {{- else }}
          emptyDir:
            sizeLimit: {{ .sizeLimit | default "1Gi" }}
          {{- end }}
        {{- end }}
        {{- end }}
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.topologySpreadConstraints }}
      topologySpreadConstraints:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}
{{- end }}
