"""What a candidate's process may read, write and see, decided on the verifier's side.

The runner (``child``) puts these up as fences (``confine``) before any of the
candidate's code runs; the paths and the environment are computed here, from
the verifier's own Python installation and the candidate's name, so that the
candidate has no say in them.
"""

from __future__ import annotations

import glob
import importlib.machinery
import os
import re
import site
import sys
import sysconfig
from collections.abc import Iterable
from pathlib import Path

from .target import Command

# Devices a GPU runtime opens for reading and writing (--device), and what its driver reads.
DEVICES = ("cpu", "cuda", "rocm")
DEVICE_NODES = {
    "cpu": (),
    "cuda": ("/dev/nvidia*", "/dev/nvidia-caps"),
    "rocm": ("/dev/kfd", "/dev/dri"),
}
DEVICE_READS = {
    "cpu": (),
    "cuda": ("/proc/driver/nvidia", "/sys/bus/pci", "/sys/devices", "/usr/share/nvidia"),
    "rocm": ("/sys/class/kfd", "/sys/class/drm", "/sys/bus/pci", "/sys/devices", "/opt/rocm"),
}
# Variables a candidate's process gets from the verifier's environment, by name or prefix.
PASSED_ON = ("PATH", "LANG", "LANGUAGE", "TZ", "LD_LIBRARY_PATH", "PYTHONHASHSEED")
PASSED_PREFIXES = ("LC_",)
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OMP_WAIT_POLICY",
    "OMP_PROC_BIND",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "RAYON_NUM_THREADS",
)
DEVICE_VARIABLES = {
    "cpu": (),
    "cuda": ("CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "NVIDIA_VISIBLE_DEVICES"),
    "rocm": ("ROCR_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "HSA_OVERRIDE_GFX_VERSION"),
}
# Python installations in these prefixes share them with the whole system: only their
# Python directories are opened, not the prefix.
SHARED_PREFIXES = ("/", "/usr", "/usr/local")


def python_installation() -> list[str]:
    """The directories Python and its packages are read from (editable installs included)."""
    paths = {os.path.realpath(sys.executable), sys.prefix, os.path.dirname(sys.executable)}
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}:
        if os.path.realpath(prefix) not in SHARED_PREFIXES:
            paths.add(prefix)
    for scheme_vars in ({}, {"base": sys.base_prefix, "platbase": sys.base_exec_prefix}):
        found = sysconfig.get_paths(vars=scheme_vars)
        paths.update(found[key] for key in ("stdlib", "platstdlib", "purelib", "platlib"))
    site_dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:  # on the path only then (never in a virtual environment)
        site_dirs.append(site.getusersitepackages())
    paths.update(site_dirs)
    for directory in site_dirs:
        paths.update(_editable_sources(directory))
    paths.add(str(Path(__file__).resolve().parents[1]))  # cnnref itself, however installed
    # Packages the verifier's own PYTHONPATH adds are part of the installation it runs with.
    paths.update(os.environ.get("PYTHONPATH", "").split(os.pathsep))
    return sorted(path for path in paths if path and os.path.exists(path))


def _editable_sources(site_dir: str) -> set[str]:
    """Source directories that ``.pth`` files and setuptools' editable finders put on the path."""
    sources: set[str] = set()
    for pth in glob.glob(os.path.join(site_dir, "*.pth")):
        try:
            lines = Path(pth).read_text(errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            line = line.strip()
            if line and not line.startswith(("#", "import ")):
                sources.add(os.path.normpath(os.path.join(site_dir, line)))
    for finder in glob.glob(os.path.join(site_dir, "__editable___*_finder.py")):
        try:
            text = Path(finder).read_text(errors="replace")
        except OSError:
            continue
        sources.update(re.findall(r"'(/[^']+)'", text.partition("MAPPING")[2].split("\n")[0]))
    return sources


def candidate_paths(
    target: str, command: Command | None, search_path: Iterable[str]
) -> tuple[list[str], list[str]]:
    """The candidate's own files, and the directories whose names (only) it may list.

    Its top-level package's directory, or its module's file; and the names in the
    directory that holds either (Python's import lists it to find them there).  For a
    command: its program, the program's directory and the files named in its arguments.
    """
    if command is not None:
        argv = command.resolved()
        program = os.path.realpath(argv[0])
        named = [arg for arg in argv[1:] if os.path.isabs(arg) and os.path.exists(arg)]
        return [program, os.path.dirname(program), *named], []
    top = target.partition(":")[0].split(".")[0]
    try:
        spec = importlib.machinery.PathFinder.find_spec(top, list(search_path))
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return [], []  # not found on the path: the runner's import says so
    if spec.submodule_search_locations:
        places = list(spec.submodule_search_locations)
        return places, sorted({os.path.dirname(place) for place in places})
    if spec.origin and os.path.exists(spec.origin):
        return [spec.origin], [os.path.dirname(spec.origin)]
    return [], []


def device_paths(device: str) -> tuple[list[str], list[str]]:
    """The device nodes ``device`` opens for writing, and the driver files it reads."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}; got {device!r}")
    nodes = sorted({found for pattern in DEVICE_NODES[device] for found in glob.glob(pattern)})
    return nodes, [path for path in DEVICE_READS[device] if os.path.exists(path)]


def environment(
    workdir: str, pass_env: Iterable[str], device: str, python_path: str
) -> dict[str, str]:
    """The candidate's whole environment: what it needs to run and import, and ``pass_env``.

    HOME and the temporary directory are its working directory; nothing else of the
    verifier's environment (tokens, keys, paths of the user's) is passed on.
    """
    wanted = {*PASSED_ON, *THREAD_VARIABLES, *DEVICE_VARIABLES[device], *pass_env}
    chosen = {
        name: value
        for name, value in os.environ.items()
        if name in wanted or name.startswith(PASSED_PREFIXES)
    }
    chosen.setdefault("PATH", os.defpath)
    return chosen | {
        "HOME": workdir,
        "TMPDIR": workdir,
        "TEMP": workdir,
        "TMP": workdir,
        "PYTHONPATH": python_path,
    }
