"""A Gradescope autograder bundle: `python -m course autograder OUT.zip`.

The zip holds `setup.sh` (run once when Gradescope builds the image: a virtual
environment with the project installed), `run_autograder` (run for every submission) and
`project/`, this installation's own files with the solutions and the hidden checks.
Gradescope unpacks it into /autograder/source, puts the student's files into
/autograder/submission and reads /autograder/results/results.json. Both scripts take the
root from AUTOGRADER_ROOT (default /autograder), so the bundle can be tried locally.
"""

import shlex
import zipfile
from pathlib import Path

from course.catalogue import select
from course.handout import project_files, repository_root

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
if ! command -v python3 >/dev/null; then
    apt-get update && apt-get install -y python3 python3-venv python3-pip
fi
python3 -m venv "$ROOT/venv"
"$ROOT/venv/bin/pip" install --upgrade pip
"$ROOT/venv/bin/pip" install -e "$ROOT/source/project"
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission; it writes $ROOT/results/results.json.
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{PYTHON:-$ROOT/venv/bin/python}}"
mkdir -p "$ROOT/results"
cd "$ROOT/source/project"
"$PYTHON" -m course grade "$ROOT/submission" --tasks {tasks} --timeout {timeout} \\
    --results "$ROOT/results/results.json" > "$ROOT/results/grade.log" 2>&1
status=$?
cat "$ROOT/results/grade.log"
if [ ! -s "$ROOT/results/results.json" ]; then
    # The grader itself failed: say so to the student rather than show nothing.
    "$PYTHON" - "$ROOT/results/grade.log" "$ROOT/results/results.json" <<'PY'
import json, sys
log = open(sys.argv[1], encoding="utf-8", errors="replace").read()[-3000:]
json.dump({{"score": 0, "output": "The autograder could not grade this submission:\\n" + log}},
          open(sys.argv[2], "w"))
PY
fi
exit 0  # the scores are in results.json; status $status is in grade.log
"""


def bundle_files(root: Path) -> list:
    """Every file of the project the grader needs: what a handout has, plus the solutions,
    the grader and the hidden checks."""
    return [Path(f) for f in project_files(root, instructor=True)]


def write_bundle(out_zip, task_ids=None, hidden=None, timeout=120.0) -> Path:
    tasks = select(task_ids)
    root = repository_root()
    out = Path(out_zip).resolve()
    if root in out.parents:
        raise ValueError(f"course autograder: write {out.name} outside the repository "
                         "(it would be bundled into the next one)")
    run = RUN.format(tasks=" ".join(shlex.quote(t.id) for t in tasks), timeout=f"{timeout:g}")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, text in (("setup.sh", SETUP), ("run_autograder", run)):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16  # executable once unpacked
            bundle.writestr(info, text)
        for relative in bundle_files(root):
            if relative.parts[:2] == ("course", "hidden_checks") and hidden is not None:
                continue  # replaced by the folder given
            bundle.write(root / relative, f"project/{relative.as_posix()}")
        if hidden is not None:
            for path in sorted(Path(hidden).glob("*.py")):
                bundle.write(path, f"project/course/hidden_checks/{path.name}")
    return out
