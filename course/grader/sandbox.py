"""Where the student's code runs: a child that cannot reach the judge, its files or its verdict.

Three ways to fence it in, tried in this order:

- "bwrap" (bubblewrap, Linux namespaces): a new mount namespace that holds only Python's
  standard library, NumPy and the child's own folder (its copy of the handout with the
  student's answers, its inputs, and one writable folder for its outputs); a private /tmp,
  no network, its own PID namespace (every process it starts dies with it). Run as root,
  the child also switches to an unprivileged user of its own (SANDBOX_USER) inside it;
  run as an ordinary user, bwrap makes an unprivileged user namespace.
- "user" (root without bwrap, such as inside a Docker image that forbids namespaces): the
  child runs as SANDBOX_USER, which can read neither the judge's checkout nor the results;
  everything that user runs is killed when the child ends. Used only when both hold (see
  `user_backend_problems`).
- none: `choose()` raises, saying what to install. Grading someone else's work is refused.

Always: resource limits (`Limits`, inherited by every process the child starts) and a
wall-clock timeout. bwrap is the distribution's package (`apt install bubblewrap`), not a
pip-installed binary: Ubuntu 24.04 lets only programs with an AppArmor profile create user
namespaces, and the distribution's bwrap comes with one.
"""

import contextlib
import os
import pwd
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SANDBOX_USER = "minigrad-sandbox"
INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: apt install bubblewrap; Fedora: dnf "
                "install bubblewrap), or grade as root, where the child runs as the "
                f"unprivileged user {SANDBOX_USER}")


@dataclass(frozen=True)
class Limits:
    """What one child may use. Every process it starts inherits them."""

    memory_mb: int = 2048  # address space per process
    cpu_seconds: int = 120
    file_mb: int = 64  # the largest file it may write
    processes: int = 64  # processes and threads of the sandbox user at once
    open_files: int = 256
    wall_seconds: float = 120.0  # the child, all of its task's checks
    check_seconds: float = 60.0  # one check (each runs in a process of its own)

    def apply(self):
        """In the child, before it runs anything (a preexec_fn)."""
        mb = 1024 * 1024
        for which, value in ((resource.RLIMIT_AS, self.memory_mb * mb),
                             (resource.RLIMIT_CPU, self.cpu_seconds),
                             (resource.RLIMIT_FSIZE, self.file_mb * mb),
                             (resource.RLIMIT_NOFILE, self.open_files),
                             (resource.RLIMIT_CORE, 0)):
            resource.setrlimit(which, (value, value))


def bwrap_works() -> bool:
    """Whether bwrap is installed and may make the namespaces it needs here."""
    if shutil.which("bwrap") is None:
        return False
    probe = ["bwrap", "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net",
             "--die-with-parent", "true"]
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        return subprocess.run(probe, capture_output=True, timeout=10).returncode == 0
    return False


def sandbox_user() -> pwd.struct_passwd:
    """The unprivileged grading user, created (as a system user with no home and no
    login shell) when missing. Root only."""
    try:
        return pwd.getpwnam(SANDBOX_USER)
    except KeyError:
        pass
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    "--user-group", SANDBOX_USER], check=True, capture_output=True)
    return pwd.getpwnam(SANDBOX_USER)


def _readable_by(path: Path, user) -> bool:
    """Whether `user` could open `path` for reading (checked by switching the effective
    user, so groups and every folder on the way count)."""
    os.setegid(user.pw_gid)
    os.seteuid(user.pw_uid)
    try:
        return os.access(path, os.R_OK | (os.X_OK if path.is_dir() else 0))
    finally:
        os.seteuid(0)
        os.setegid(0)


def user_backend_problems(private: list) -> list:
    """Why the user-only sandbox would not hold here: Python that the sandbox user cannot
    run, or judge files (`private`) that it could read."""
    user = sandbox_user()
    problems = []
    python = Path(os.path.realpath(sys.executable))
    if not _readable_by(python, user) or not _readable_by(Path(sys.base_prefix), user):
        problems.append(f"{SANDBOX_USER} cannot run {python} (a folder on the way is "
                        "private to root)")
    problems += [f"{SANDBOX_USER} could read {p} (chmod o-rwx it)" for p in private
                 if _readable_by(Path(p), user)]
    return problems


def choose(private: list) -> str:
    """The sandbox to grade in: "bwrap" or "user"; raises RuntimeError when none holds."""
    if bwrap_works():
        return "bwrap"
    if os.geteuid() == 0:
        problems = user_backend_problems(private)
        if not problems:
            return "user"
        raise RuntimeError("course grade: cannot isolate the student's code: "
                           + "; ".join(problems) + f". Either fix that, or {INSTALL_HINT}.")
    raise RuntimeError(f"course grade: cannot isolate the student's code, so it will not "
                       f"grade it: {INSTALL_HINT}.")


def python_paths() -> dict:
    """What the child needs from this Python: the interpreter, its standard library, and
    NumPy (nothing else that is installed: no torch, no autodiff library)."""
    import numpy

    numpy_dir = Path(numpy.__path__[0])
    libs = numpy_dir.parent / "numpy.libs"  # the BLAS that NumPy's wheel ships, if any
    return {"python": os.path.realpath(sys.executable), "prefix": sys.base_prefix,
            "numpy": str(numpy_dir), "numpy_libs": str(libs) if libs.is_dir() else None}


def command(kind: str, child_dir: Path, argv: list) -> list:
    """The command line that runs `argv` (whose paths are the child's, under
    /sandbox/child in bwrap) inside the sandbox."""
    paths = python_paths()
    switch = []
    if os.geteuid() == 0:
        user = sandbox_user()
        switch = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                  "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
                  "--no-new-privs"]
    if kind == "user":
        return switch + argv
    bwrap = ["bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
             "--die-with-parent", "--new-session", "--clearenv",
             "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for system in ("/usr", "/lib", "/lib64", "/bin", "/etc/alternatives"):
        if os.path.exists(system):
            bwrap += ["--ro-bind", system, system]
    # The folders above each mount, made readable: bwrap would make them private to root.
    folders = {str(p) for target in (paths["prefix"], "/sandbox/site/numpy",
                                     "/sandbox/child/tree") for p in Path(target).parents}
    for folder in sorted(folders - {"/"}, key=len):
        bwrap += ["--perms", "0755", "--dir", folder]
    bwrap += ["--ro-bind", paths["prefix"], paths["prefix"],
              "--ro-bind", paths["numpy"], "/sandbox/site/numpy"]
    if paths["numpy_libs"]:
        bwrap += ["--ro-bind", paths["numpy_libs"], "/sandbox/site/numpy.libs"]
    bwrap += ["--ro-bind", str(child_dir), "/sandbox/child",
              "--bind", str(child_dir / "outputs"), "/sandbox/child/outputs",
              "--chdir", "/sandbox/child/outputs"]
    for key, value in child_environment().items():
        bwrap += ["--setenv", key, value]
    if os.geteuid() == 0:
        # Root keeps the capability to switch users inside, and setpriv drops it for good.
        bwrap += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--"] + switch
    else:
        bwrap += ["--"]
    return bwrap + argv


def child_environment() -> dict:
    # Small arrays: one BLAS thread each is fastest, and it stays within the process limit.
    return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/tmp", "MPLBACKEND": "Agg",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1"}


def _processes_of(uid: int) -> list:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    found.append(int(entry))
    return found


def _threads_of(uid: int) -> int:
    count = 0
    for pid in _processes_of(uid):
        with contextlib.suppress(OSError):
            count += len(os.listdir(f"/proc/{pid}/task"))
    return count


def kill_everything_of(uid: int):
    """SIGKILL every process of `uid` until none is left (a fork between two sweeps is
    caught by the next one; the process limit bounds how many there can be)."""
    for _ in range(100):
        pids = _processes_of(uid)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)
    raise RuntimeError(f"course grade: processes of {SANDBOX_USER} survive SIGKILL; no verdict")


def run(kind: str, child_dir: Path, argv: list, limits: Limits, log) -> bool:
    """Run `argv` in the sandbox with `limits`, its output into the file `log`; returns
    whether it timed out. When this returns, nothing the child started is running."""
    uid = sandbox_user().pw_uid if os.geteuid() == 0 else None
    if kind == "user":
        kill_everything_of(uid)  # nothing left from before may touch this child's files

    # RLIMIT_NPROC counts every process and thread of a user: the sandbox user's own when
    # root, else the instructor's too, so allow what they already run plus the limit.
    allowed = limits.processes + (0 if uid is not None else _threads_of(os.getuid()))

    def limit():
        limits.apply()
        resource.setrlimit(resource.RLIMIT_NPROC, (allowed, allowed))

    env = child_environment() if kind == "user" else {"PATH": "/usr/bin:/bin"}
    process = subprocess.Popen(command(kind, child_dir, argv), env=env, stdout=log,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               cwd=child_dir / "outputs", start_new_session=True,
                               preexec_fn=limit)
    timed_out = False
    try:
        process.wait(timeout=limits.wall_seconds)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        # In bwrap, the PID namespace ends with its first process, taking every process in
        # it along; as a plain user, a double-forked daemon left the process group.
        if kind == "user":
            kill_everything_of(uid)
    return timed_out
