##@ Pipeline: DVC stages, MLflow tracking, batch scoring (`make repro`)
# The raw table, tracked by DVC (see data/README.md): params.yaml's prepare.raw_data.
RAW_DATA := $(or $(shell awk '/^prepare:/ {on = 1; next} /^[^ \t#]/ {on = 0} \
	on && $$1 == "raw_data:" {print $$2}' params.yaml 2>/dev/null),data/raw/heart.csv)
# MLflow: the embedded SQLite store unless MLFLOW_TRACKING_URI names a tracking server.
MLFLOW_TRACKING_URI ?= sqlite:///$(CURDIR)/mlflow.db
MLFLOW_PORT ?= 5000
# Extra `dvc repro` flags: CI passes --force to train a fresh champion on its clean runner.
REPRO_FLAGS ?=
# metrics-diff: the retraining pull request's body. Compares the workspace with METRICS_BASE.
METRICS_BASE ?= HEAD
METRICS_DIFF ?= $(VENV)/metrics-diff.md
# feedback: a CSV file of outcomes (request_id, actual 0/1, optional index) to join to the log.
LABELS ?=
# Extra monitor flags: the retrain workflow passes --exit-zero --github (docs/monitoring.md).
MONITOR_FLAGS ?=

# contract: the table and target to infer data/contract.yaml from (TASK, ID, POSITIVE, FORCE optional).
DATA ?=
TARGET ?=
TASK ?=
ID ?=
POSITIVE ?=
FORCE ?=

.PHONY: contract data data-docs repro metrics plots push pull predict verify mlflow-ui metrics-diff \
	feedback feedback-append monitor

data: $(RAW_DATA).dvc ## Track the raw data with DVC (scaffold new did it; for plain copier copy)

$(RAW_DATA).dvc: | $(STAMP)
	git rm --cached --quiet --ignore-unmatch $(RAW_DATA)  # DVC, not git, keeps the data
	$(BIN)/dvc add $(RAW_DATA)

contract: $(STAMP) ## Infer data/contract.yaml from a table: DATA=file TARGET=column [TASK=binary|multiclass|regression] [ID=column] [POSITIVE=value] [FORCE=1]
	@if [ -z '$(DATA)' ] || [ -z '$(TARGET)' ]; then \
		echo "contract: give the table and the column to predict: make contract DATA=file.csv TARGET=column" >&2; \
		exit 2; \
	fi
	$(BIN)/python -m $(PACKAGE).core.infer_contract '$(DATA)' --target '$(TARGET)' \
		$(if $(TASK),--task '$(TASK)') $(if $(ID),--id '$(ID)') $(if $(POSITIVE),--positive '$(POSITIVE)') $(if $(FORCE),--force)

data-docs: $(STAMP) ## Write the data dictionary (docs/data.md) from the data contract (data/contract.yaml)
	$(BIN)/python -m $(PACKAGE).core.data_dictionary

docs/data.md: data/contract.yaml | $(STAMP)
	$(BIN)/python -m $(PACKAGE).core.data_dictionary

repro: data ## Run the pipeline (prepare, validate, train, evaluate); unchanged stages are skipped
	@# Checks params.yaml and takes the project's lock first, then runs `dvc repro` (repro.py).
	$(BIN)/python -m $(PACKAGE).pipeline.repro $(REPRO_FLAGS)
	@# DVC stages dvc.lock and the .gitignore files (core.autostage); the results git keeps
	@# (reports/, models/run.json) are staged here, so that `git commit` records the whole run.
	@results="$$(git ls-files --others --modified --exclude-standard -- reports models)"; \
	if [ -n "$$results" ]; then git add -- $$results; fi; \
	if ! git diff --cached --quiet; then \
		echo "repro: the run's results are staged (dvc.lock, reports/, models/run.json): git commit them"; \
	fi

metrics: $(STAMP) ## Show the evaluation metrics (reports/metrics.json)
	$(BIN)/dvc metrics show

plots: $(STAMP) ## Render the ROC curve and confusion matrix into dvc_plots/index.html
	$(BIN)/dvc plots show

push: data ## Upload data and models to the DVC remote (.dvc/config)
	$(BIN)/dvc push

pull: $(STAMP) ## Download data and models from the DVC remote
	$(BIN)/dvc pull

predict: $(STAMP) ## Score the held-back test features with the champion model
	$(BIN)/python -m $(PACKAGE).pipeline.predict \
		--input data/processed/test_features.csv --output reports/predictions.csv

verify: predict ## Compare the predictions with the held-back actuals
	$(BIN)/python -m $(PACKAGE).pipeline.verify \
		--predictions reports/predictions.csv --actuals data/processed/test_labels.csv

mlflow-ui: $(STAMP) ## Browse runs and registered models at http://127.0.0.1:$(MLFLOW_PORT)
	$(BIN)/mlflow ui --backend-store-uri '$(MLFLOW_TRACKING_URI)' --host 127.0.0.1 --port $(MLFLOW_PORT)

metrics-diff: $(STAMP) ## Metrics and params against METRICS_BASE (markdown, also in METRICS_DIFF)
	@mkdir -p $(dir $(METRICS_DIFF))
	@set -e; { \
		echo "#### Metrics: $(METRICS_BASE) → workspace"; echo; \
		$(BIN)/dvc metrics diff --all --md $(METRICS_BASE); echo; \
		echo "#### Params: $(METRICS_BASE) → workspace"; echo; \
		$(BIN)/dvc params diff --md $(METRICS_BASE); \
	} > $(METRICS_DIFF)
	@cat $(METRICS_DIFF)

feedback: $(STAMP) ## Join outcomes (LABELS=file.csv) to the prediction log; labelled performance per window
	$(BIN)/python -m $(PACKAGE).monitoring.feedback $(if $(LABELS),--labels '$(LABELS)')

feedback-append: data ## Append the labelled rows to the raw table (prepare.raw_data, once each), then `dvc add` it
	$(BIN)/python -m $(PACKAGE).monitoring.append
	$(BIN)/dvc add --quiet $(RAW_DATA)

monitor: $(STAMP) ## Drift and performance: exit 0 healthy, 3 drift, 4 performance, 5 both (docs/monitoring.md)
	$(BIN)/python -m $(PACKAGE).monitoring.monitor $(MONITOR_FLAGS)

##@ Experiments: a challenger model against the champion (docs/experiments.md)
# challenger: the registered model version to point the challenger alias at.
VERSION ?=

.PHONY: challenger ab-report promote-challenger model-history

challenger: $(STAMP) ## Point the registry's challenger alias at VERSION=N (recorded on the version)
	@if [ -z '$(VERSION)' ]; then \
		echo "challenger: give the model version: make challenger VERSION=N" >&2; \
		exit 2; \
	fi
	$(BIN)/python -m $(PACKAGE).pipeline.aliases challenger '$(VERSION)'

ab-report: $(STAMP) ## Challenger against champion on labelled traffic: exit 0 better, 3 worse, 4 not enough evidence
	$(BIN)/python -m $(PACKAGE).monitoring.experiment

promote-challenger: $(STAMP) ## Make the challenger the champion, only if ab-report found it significantly better
	$(BIN)/python -m $(PACKAGE).pipeline.aliases promote-challenger

model-history: $(STAMP) ## The champion's lineage, from the decisions recorded in the registry
	$(BIN)/python -m $(PACKAGE).pipeline.aliases history

# make check: `dvc status` fails on a broken dvc.yaml or params.yaml; the count is the stages
# whose results are out of date (`make repro` brings them up to date).
CHECKS += dvc-status
CHECK.dvc-status = changed $(BIN)/dvc status --json
