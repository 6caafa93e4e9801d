{{/* The service's alert rules, from values.monitoring.alerts: the `spec` of the PrometheusRule,
     and the plain rules file that `make alerts-rules` extracts from it for promtool and for a
     Prometheus without the operator. Prometheus' own templates in the annotations are quoted
     ({{`{{ $value }}`}}) so that Helm leaves them for Alertmanager. */}}

{{/* The PromQL label matchers of the service's series. */}}
{{- define "app.metricSelector" -}}
{{- .Values.monitoring.prometheusRule.selector | default (printf "namespace=%q, job=%q" .Release.Namespace (include "app.fullname" .)) }}
{{- end }}

{{/* An alert's labels: its severity, then monitoring.prometheusRule.alertLabels. */}}
{{- define "app.alertLabels" -}}
severity: {{ .settings.severity }}
{{- with .root.Values.monitoring.prometheusRule.alertLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "app.alertGroups" -}}
{{- $s := include "app.metricSelector" . }}
{{- $by := "sum by (namespace, job)" }}
{{- $errors := .Values.monitoring.alerts.errorRatio }}
{{- $latency := .Values.monitoring.alerts.latencyP99 }}
{{- $model := .Values.monitoring.alerts.modelNotLoaded }}
{{- $log := .Values.monitoring.alerts.predictionLogLoss }}
{{- /* A binary classifier's; a multiclass one has classShareShift, a regressor predictedMeanShift. */}}
{{- $shift := .Values.monitoring.alerts.positiveRateShift | default dict }}
{{- /* The prediction shifts judge the champion's answers: a challenger's (A/B, shadow) differ. */}}
{{- $c := printf "%s, variant=\"champion\"" $s }}
{{- $predictions := printf "increase(predictions_total{%s}[%s])" $c $shift.window }}
{{- $positives := printf "increase(predictions_total{%s, prediction=\"1\"}[%s])" $c $shift.window }}
groups:
  - name: {{ include "app.fullname" . }}.service
    rules:
      - alert: PredictErrorRatioHigh
        expr: |-
          {{ $by }} (rate(http_requests_total{ {{- $s }}, endpoint="/predict", status=~"5.."}[{{ $errors.window }}]))
            / {{ $by }} (rate(http_requests_total{ {{- $s }}, endpoint="/predict"}[{{ $errors.window }}]))
            > {{ $errors.threshold }}
        for: {{ $errors.for }}
        labels:
          {{- include "app.alertLabels" (dict "root" . "settings" $errors) | nindent 10 }}
        annotations:
          summary: {{ `{{ $labels.job }}: {{ $value | humanizePercentage }} of /predict requests fail (5xx)` | quote }}
          description: >-
            A share above {{ $errors.threshold }} of POST /predict requests was answered with a
            5xx over {{ $errors.window }}. The service's logs name the failures.
      - alert: PredictLatencyP99High
        expr: |-
          histogram_quantile(0.99,
            sum by (namespace, job, le) (rate(http_request_duration_seconds_bucket{ {{- $s }}, endpoint="/predict"}[{{ $latency.window }}]))
          ) > {{ $latency.thresholdSeconds }}
        for: {{ $latency.for }}
        labels:
          {{- include "app.alertLabels" (dict "root" . "settings" $latency) | nindent 10 }}
        annotations:
          summary: {{ `{{ $labels.job }}: p99 latency of /predict is {{ $value | humanizeDuration }}` | quote }}
          description: >-
            The 99th percentile of POST /predict's latency over {{ $latency.window }} is above
            {{ $latency.thresholdSeconds }} s: too few replicas or CPU, or batches too large.
      - alert: ModelNotLoaded
        expr: |-
          model_loaded{ {{- $s }}} == 0
            or absent(model_loaded{ {{- $s }}})
        for: {{ $model.for }}
        labels:
          {{- include "app.alertLabels" (dict "root" . "settings" $model) | nindent 10 }}
        annotations:
          summary: {{ `{{ with $labels.pod }}pod {{ . }}: {{ end }}no model loaded` | quote }}
          description: >-
            A pod has had no model loaded (model_loaded 0) for {{ $model.for }}, or no pod's
            metrics reached Prometheus at all. The pod's logs say why the model does not load.
      - alert: PredictionLogDropping
        expr: |-
          {{ $by }} (increase(prediction_log_dropped_total{ {{- $s }}}[{{ $log.window }}])) > 0
        for: {{ $log.for }}
        labels:
          {{- include "app.alertLabels" (dict "root" . "settings" $log) | nindent 10 }}
        annotations:
          summary: {{ `{{ $labels.job }}: prediction-log records dropped` | quote }}
          description: >-
            The prediction log's queue was full in the last {{ $log.window }}: records are
            missing from it, and from the monitoring and retraining that read it.
      - alert: PredictionLogFailing
        expr: |-
          {{ $by }} (increase(prediction_log_errors_total{ {{- $s }}}[{{ $log.window }}])) > 0
        for: {{ $log.for }}
        labels:
          {{- include "app.alertLabels" (dict "root" . "settings" $log) | nindent 10 }}
        annotations:
          summary: {{ `{{ $labels.job }}: prediction-log records lost` | quote }}
          description: >-
            The prediction log's sink failed in the last {{ $log.window }} (e.g. a full disk):
            its records are lost. The service's logs name the error.
      {{- if $shift.window }}
      - alert: PredictedPositiveRateShift
        expr: |-
          abs(
            {{ $by }} ({{ $positives }})
              / {{ $by }} ({{ $predictions }})
            {{- if ne (toString $shift.expectedRate) "" }}
            - {{ $shift.expectedRate }}
            {{- else }}
            - {{ $by }} (increase(predictions_total{ {{- $c }}, prediction="1"}[{{ $shift.baseline }}]))
              / {{ $by }} (increase(predictions_total{ {{- $c }}}[{{ $shift.baseline }}]))
            {{- end }}
          ) > {{ $shift.tolerance }}
          and on (namespace, job)
            {{ $by }} ({{ $predictions }}) >= {{ $shift.minPredictions }}
        for: {{ $shift.for }}
        labels:
          {{- include "app.alertLabels" (dict "root" . "settings" $shift) | nindent 10 }}
        annotations:
          summary: {{ `{{ $labels.job }}: the share of positive predictions is off its baseline by {{ printf "%.2f" $value }}` | quote }}
          description: >-
            Over {{ $shift.window }}, the share of positive predictions differs by more than
            {{ $shift.tolerance }} from {{ if ne (toString $shift.expectedRate) "" }}the expected
            {{ $shift.expectedRate }}{{ else }}its share over {{ $shift.baseline }}{{ end }}: the
            inputs may have drifted, or the model changed. Compare with the training data.
      {{- end }}
      {{- with .Values.monitoring.alerts.classShareShift }}
      {{- $byClass := "sum by (namespace, job, prediction)" }}
      {{- $now := printf "increase(predictions_total{%s}[%s])" $c .window }}
      {{- $before := printf "increase(predictions_total{%s}[%s])" $c .baseline }}
      - alert: PredictedClassShareShift
        expr: |-
          abs(
            {{ $byClass }} ({{ $now }})
              / ignoring (prediction) group_left {{ $by }} ({{ $now }})
            - {{ $byClass }} ({{ $before }})
              / ignoring (prediction) group_left {{ $by }} ({{ $before }})
          ) > {{ .tolerance }}
          and on (namespace, job)
            {{ $by }} ({{ $now }}) >= {{ .minPredictions }}
        for: {{ .for }}
        labels:
          {{- include "app.alertLabels" (dict "root" $ "settings" .) | nindent 10 }}
        annotations:
          summary: {{ `{{ $labels.job }}: the share of class {{ $labels.prediction }} is off its baseline by {{ printf "%.2f" $value }}` | quote }}
          description: >-
            Over {{ .window }}, the share of the predictions of one class differs by more than
            {{ .tolerance }} from its share over {{ .baseline }}: the inputs may have drifted,
            or the model changed. Compare with the training data.
      {{- end }}
      {{- with .Values.monitoring.alerts.predictedMeanShift }}
      {{- $sum := printf "increase(prediction_value_sum{%s}[%s])" $c .window }}
      {{- $count := printf "increase(prediction_value_count{%s}[%s])" $c .window }}
      - alert: PredictedMeanShift
        expr: |-
          abs(
            {{ $by }} ({{ $sum }})
              / {{ $by }} ({{ $count }})
            {{- if ne (toString .expectedMean) "" }}
              / {{ .expectedMean }}
            {{- else }}
              / ({{ $by }} (increase(prediction_value_sum{ {{- $c }}}[{{ .baseline }}]))
                / {{ $by }} (increase(prediction_value_count{ {{- $c }}}[{{ .baseline }}])))
            {{- end }}
            - 1
          ) > {{ .tolerance }}
          and on (namespace, job)
            {{ $by }} ({{ $count }}) >= {{ .minPredictions }}
        for: {{ .for }}
        labels:
          {{- include "app.alertLabels" (dict "root" $ "settings" .) | nindent 10 }}
        annotations:
          summary: {{ `{{ $labels.job }}: the mean predicted value is off its baseline by {{ $value | humanizePercentage }}` | quote }}
          description: >-
            Over {{ .window }}, the mean predicted value differs by more than {{ .tolerance }}
            (relative) from {{ if ne (toString .expectedMean) "" }}the expected
            {{ .expectedMean }}{{ else }}its mean over {{ .baseline }}{{ end }}: the inputs may
            have drifted, or the model changed. Compare with the training data.
      {{- end }}
{{- end }}
