"""The notebooks: committed clean, importing only the public API, and running without an error.

Each notebook is executed in a real Jupyter kernel (nbclient + ipykernel) started with this
interpreter, with ``notebooks/`` as its working directory, as an analyst would open it. The
notebooks ``assert`` the key facts they show, so a wrong answer fails here just as a crash does.
They build the graph into a temporary directory: running them must leave ``notebooks/`` and
``data/`` as they were, which is checked too.
"""

from __future__ import annotations

import ast
import json
import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = ["01_tour.ipynb", "02_provenance.ipynb", "03_remains_story.ipynb"]
CELL_TIMEOUT = 120  # seconds per cell; the tour's build (with SHACL validation) is the slowest


def _read(name):
    import nbformat
    return nbformat.read(NOTEBOOK_DIR / name, as_version=4)


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_the_notebooks_are_all_here():
    found = sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb"))
    assert found == NOTEBOOKS


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebook_has_no_outputs(name):
    import nbformat
    nb = _read(name)
    nbformat.validate(nb)
    assert _code_cells(nb), f"{name} has no code"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name} cell {i} has outputs: strip them"
            assert cell.execution_count is None, f"{name} cell {i} has an execution count"
        assert "attachments" not in cell or not cell.attachments, f"{name} cell {i}"
    # nothing of a past run is kept in the metadata either (widget state, timings)
    assert "widgets" not in nb.metadata, name
    raw = json.loads((NOTEBOOK_DIR / name).read_text(encoding="utf-8"))
    assert all(not c.get("metadata", {}).get("execution") for c in raw["cells"]), name


def _imports(source: str):
    """(module, names) for every import statement of a code cell."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            yield ("." * node.level) + (node.module or ""), [a.name for a in node.names]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_imports_only_the_public_api(name):
    nb = _read(name)
    seen_api = False
    for i, cell in enumerate(_code_cells(nb)):
        lines = cell.source.splitlines()
        assert not any(line.lstrip().startswith(("%", "!")) for line in lines), \
            f"{name} cell {i}: no magics or shell escapes, the cells are plain Python"
        for module, names in _imports(cell.source):
            if module == "kg" or module.startswith("kg."):
                assert module == "kg.api", \
                    f"{name} cell {i} imports {module}: notebooks use kg.api only"
                assert not any(n.startswith("_") or n == "*" for n in names), \
                    f"{name} cell {i} imports private or star names from kg.api: {names}"
                seen_api = True
            assert not module.startswith("."), f"{name} cell {i}: relative import"
        assert "kg." not in cell.source.replace("kg.api", ""), \
            f"{name} cell {i} reaches into kg beyond kg.api"
    assert seen_api, f"{name} never imports kg.api"


def _snapshot(*dirs):
    """Every file under ``dirs`` with its size and modification time (no __pycache__)."""
    out = {}
    for top in dirs:
        if not top.exists():
            continue
        for path in top.rglob("*"):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            stat = path.stat()
            out[str(path.relative_to(ROOT))] = (stat.st_size, stat.st_mtime_ns)
    return out


@pytest.fixture(scope="module")
def kernel_spec_dir(tmp_path_factory):
    """A kernel spec that starts ipykernel with this very interpreter.

    The usual ``python3`` spec may be shadowed by one the user installed for another Python;
    this one is found first and cannot be.
    """
    import ipykernel  # noqa: F401  (a missing [test] extra must fail, not skip)
    spec = tmp_path_factory.mktemp("kernels") / "kg-notebook-test"
    spec.mkdir()
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "kg notebook test", "language": "python"}))
    return spec.parent


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs(name, kernel_spec_dir, tmp_path):
    import matplotlib  # noqa: F401
    import nbclient
    import pandas  # noqa: F401
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient.exceptions import CellExecutionError

    nb = _read(name)
    ksm = KernelSpecManager(kernel_dirs=[str(kernel_spec_dir)], ensure_native_kernel=False)
    km = AsyncKernelManager(kernel_name="kg-notebook-test", kernel_spec_manager=ksm)
    client = nbclient.NotebookClient(
        nb, km=km, timeout=CELL_TIMEOUT, allow_errors=False, record_timing=False,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    env = {**os.environ,
           "PYTHONDONTWRITEBYTECODE": "1",          # no __pycache__ left in the repository
           "IPYTHONDIR": str(tmp_path / "ipython"),  # no IPython profile or history at home
           "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    # (not build/: the notebooks never touch it, but a `kg build` run alongside may)
    watched = (NOTEBOOK_DIR, ROOT / "data")
    before = _snapshot(*watched)
    try:
        client.execute(env=env)
    except CellExecutionError as exc:
        plain = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # the kernel's traceback, uncoloured
        pytest.fail(f"{name} failed:\n{plain}", pytrace=False)
    after = _snapshot(*watched)
    assert after == before, f"running {name} changed the repository: " + ", ".join(
        sorted(set(before) ^ set(after)) or
        sorted(k for k in before if before[k] != after.get(k)))

    # Every code cell ran, in order, and none left an error output behind.
    cells = _code_cells(nb)
    assert [c.execution_count for c in cells] == list(range(1, len(cells) + 1))
    errors = [o for c in cells for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    if name == "03_remains_story.ipynb":
        images = [o for c in cells for o in c.outputs if "image/png" in o.get("data", {})]
        assert len(images) == 1, "the timeline plot is shown inline, once"
    if name == "01_tour.ipynb":
        frames = [o for c in cells for o in c.outputs
                  if "<iframe srcdoc=" in o.get("data", {}).get("text/html", "")]
        assert len(frames) == 1, "the interactive graph is embedded once"
