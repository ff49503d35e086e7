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
if ! command -v python3 >/dev/null || ! command -v bwrap >/dev/null; then
    apt-get update && apt-get install -y python3 python3-venv python3-pip bubblewrap
fi
python3 -m venv "$ROOT/venv"
"$ROOT/venv/bin/pip" install --upgrade pip
"$ROOT/venv/bin/pip" install -e "$ROOT/source/project"
# The unprivileged user that student code runs as when namespaces are not allowed.
id -u minigrad-sandbox >/dev/null 2>&1 ||
    useradd --system --no-create-home --shell /usr/sbin/nologin --user-group minigrad-sandbox
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission. Only the grader writes results.json, after
# every student process is gone; if grading fails there is no results.json at all (so
# Gradescope reports an error) and grade.log says why.
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{PYTHON:-$ROOT/venv/bin/python}}"
mkdir -p "$ROOT/results"
rm -f "$ROOT/results/results.json"  # nothing found here may pass for a verdict
# The solutions and the results are root's alone (they matter when namespaces are not
# allowed and the student's code runs as an unprivileged user instead).
chmod 700 "$ROOT/source" "$ROOT/results" 2>/dev/null || true
cd "$ROOT/source/project"
"$PYTHON" -m course grade "$ROOT/submission" --tasks {tasks} --timeout {timeout} \\
    --hidden-visibility {visibility} --results "$ROOT/results/results.json" \\
    > "$ROOT/results/grade.log" 2>&1
status=$?
cat "$ROOT/results/grade.log"
if [ "$status" -gt 1 ]; then  # 0: full marks, 1: graded below full marks, else: failed
    rm -f "$ROOT/results/results.json"
    echo "grading failed (exit status $status): no score is given" >&2
    exit 1
fi
exit 0
"""


def bundle_files(root: Path) -> list:
    """Every file of the project the grader needs: what a handout has, plus the solutions,
    the grader and the hidden checks."""
    return [Path(f) for f in project_files(root, instructor=True)]


def write_bundle(out_zip, task_ids=None, hidden=None, timeout=120.0,
                 hidden_visibility="after_published") -> Path:
    tasks = select(task_ids)
    root = repository_root()
    out = Path(out_zip).resolve()
    if root in out.parents:
        raise ValueError(f"course autograder: write {out.name} outside the repository "
                         "(it would be bundled into the next one)")
    run = RUN.format(tasks=" ".join(shlex.quote(t.id) for t in tasks), timeout=f"{timeout:g}",
                     visibility=shlex.quote(hidden_visibility))
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
