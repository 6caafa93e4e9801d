##@ Template updates: pull fixes from the project template (`make template-update`)
# scaffold runs from its own venv. SCAFFOLD_SPEC is the new version (any pip requirement or
# wheel); SCAFFOLD_FROM the version that rendered this project (empty: mlops-scaffold==<_commit>),
# installed once so the template mirror holds both ends of the diff.
SCAFFOLD_SPEC ?= mlops-scaffold
SCAFFOLD_FROM ?=
SCAFFOLD_VENV ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/mlops-scaffold/venv
TEMPLATE_REPORT ?= $(SCAFFOLD_VENV)/template-update.md
SCAFFOLD_PIP = $(UV) pip install --quiet --python $(SCAFFOLD_VENV)/bin/python

# Turns `scaffold update --json` (argv[1]) into the pull request's body (stdout) and, on
# GitHub Actions, the step's outputs: version, conflicts (a count) and changed.
define TEMPLATE_REPORT_PY
import json, os, sys
result = json.load(open(sys.argv[1], encoding="utf-8"))
conflicts = result["conflicts"]
changed = sorted({*result["added"], *result["modified"], *result["removed"]})
print(f"Template update {result['old_version']} → {result['new_version']} by `make template-update` (`scaffold update`).\n")
if conflicts:
    print(f"**{len(conflicts)} file(s) with conflicts**: resolve the inline markers or the `.rej`")
    print("hunks by hand, delete the `.rej` files, then mark this pull request ready.\n")
    print("".join(f"- {name}\n" for name in conflicts))
else:
    print("No conflicts.\n")
print("Changed files:\n")
for kind in ("added", "modified", "removed"):
    print("".join(f"- {name} ({kind})\n" for name in result[kind]), end="")
if os.environ.get("GITHUB_OUTPUT"):
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
        out.write(f"version={result['new_version']}\nconflicts={len(conflicts)}\nchanged={str(bool(changed)).lower()}\n")
endef
export TEMPLATE_REPORT_PY

.PHONY: template-update

$(SCAFFOLD_VENV)/bin/python: | $(UV)
	$(UV) venv --quiet --python $(PYTHON) $(SCAFFOLD_VENV)

template-update: | $(SCAFFOLD_VENV)/bin/python ## Update from the newest template (scaffold update), report in TEMPLATE_REPORT
	@test -z "$$(git status --porcelain)" || { echo "template-update: commit your changes first" >&2; exit 1; }
	@set -e; \
	old="$$(sed -n 's/^_commit: *//p' .copier-answers.yml)"; \
	mirror="$$(sed -n 's/^_src_path: *//p' .copier-answers.yml | sed "s|^~|$$HOME|")"; \
	if git -C "$$mirror" rev-parse --quiet --verify "refs/tags/$$old" >/dev/null 2>&1; then \
		echo "The template mirror holds $$old already"; \
	else \
		from='$(SCAFFOLD_FROM)'; version="$${old#v}"; from="$${from:-mlops-scaffold==$$version}"; \
		echo "Adding $$old to the template mirror with $$from"; \
		$(SCAFFOLD_PIP) "$$from"; \
		$(SCAFFOLD_VENV)/bin/scaffold mirror; \
	fi; \
	$(SCAFFOLD_PIP) --upgrade '$(SCAFFOLD_SPEC)'; \
	mkdir -p $(dir $(TEMPLATE_REPORT)); result="$(TEMPLATE_REPORT).json"; status=0; \
	$(SCAFFOLD_VENV)/bin/scaffold update --json . > "$$result" || status=$$?; \
	if [ "$$status" != 0 ] && [ "$$status" != 3 ]; then exit "$$status"; fi; \
	$(SCAFFOLD_VENV)/bin/python -c "$$TEMPLATE_REPORT_PY" "$$result" > $(TEMPLATE_REPORT); \
	cat $(TEMPLATE_REPORT); \
	echo "Report: $(TEMPLATE_REPORT)"
