# cs280diff: every target installs what it needs into a local virtual environment ($(VENV)) when it is missing.
#   make lab        the practicum in JupyterLab, opened on notebooks/, without nbgrader's authoring UI
#   make lab-ta     JupyterLab with nbgrader's UI (create assignments, validate, formgrader) for course staff
#   make test       unit tests, nbgrader pipeline tests, nbval over solutions/
#   make release    regenerate notebooks/ (student versions) from solutions/
#   make autograde  grade everything under submitted/, write feedback/ and integrity reports/ (TAs)
#   make grade INBOX=downloads/  the TA's one command: collect, repair, autograde in parallel, grades.csv
#   make site       the self-study site: the executed solution notebooks as web pages, in build/site/html
#   make bench      run the benchmarks and write their tables under benchmarks/
#   make bench-gpu  on a GPU machine: every notebook in the full profile + training throughput (benchmarks/gpu_run.sh)
#   make doctor     versions, device and profile
#   make clean      remove the environment and grading artefacts
# GPU users: `make lab TORCH=torch` (or any pip requirement for a CUDA build) instead of the CPU pin.

PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
JOBS   ?= 2
LAB_ARGS ?=
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
# Jupyter refuses to start as root unless told to (containers, CI).
LAB_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
export PATH := $(abspath $(BIN)):$(PATH)
# Tests and grading run several kernels side by side on few cores: one BLAS/OpenMP thread each avoids
# oversubscription (spinning OpenMP threads made single cells 30x slower on a loaded 2-core machine).
THREADS_1 := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

.PHONY: lab lab-ta test release autograde grade site bench bench-gpu doctor clean install

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[dev,bench]" "$(TORCH)"
	touch $(STAMP)

lab: $(STAMP)
	JUPYTER_CONFIG_PATH=$(CURDIR)/jupyter/student $(BIN)/jupyter lab --notebook-dir=notebooks $(LAB_ROOT) $(LAB_ARGS)

lab-ta: $(STAMP)
	$(BIN)/jupyter lab $(LAB_ROOT) $(LAB_ARGS)

test: $(STAMP)
	$(THREADS_1) $(PY) -m pytest -n $(JOBS) --dist loadscope --no-loadscope-reorder --nbval-lax --durations=15

release: $(STAMP)
	$(PY) -m cs280diff.course release

autograde: $(STAMP)
	$(THREADS_1) $(PY) -m cs280diff.course autograde

site: $(STAMP)
	$(THREADS_1) $(PY) -m cs280diff.course site

grade: $(STAMP)
	$(THREADS_1) $(PY) -m cs280diff.course grade $(INBOX) $(GRADE_ARGS)

bench: $(STAMP)
	for b in benchmarks/*.py; do [ -e "$$b" ] || continue; $(PY) "$$b" || exit 1; done

bench-gpu: $(STAMP)
	bash benchmarks/gpu_run.sh $(PY)

doctor: $(STAMP)
	$(BIN)/cs280diff doctor

clean:
	rm -rf $(VENV) submitted autograded feedback reports originals grades.csv grades_by_notebook.csv grading_log.json gradebook.db .nbgrader.log
