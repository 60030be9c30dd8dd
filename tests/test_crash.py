"""Crash safety: ``kill -9`` at any moment never leaves a half-written graph or a broken store.

``kg build`` is killed at several points of a build of a larger corpus (the three articles and
synthetic copies of them), measured as fractions of an unkilled build's time. After each kill the
outputs in ``--out`` must be the previous ones byte for byte (or, when the kill came after the
build had finished publishing, the new ones -- never a mix), must parse, the store must open
read-only and answer with the matching counts, and the next build must succeed.

``kg add`` of a large article (thousands of claims, so the one atomic update takes seconds) is
killed the same way. The store must open and hold either the article's old graphs or its new
ones, complete, never a mix; it must not stay locked; the next ``kg add`` must succeed.

The last tests kill a build deterministically at each step of publishing its outputs, by
replacing ``os.replace`` in the child with one that SIGKILLs the process just before a given
rename. They show the windows in which ``kg build`` does leave a mix (see each test's reason).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph as ox
import pytest
import yaml

from kg.pipeline import exclusive
from kg.store import Store

from .conftest import DATA, ROOT

COPIES = int(os.environ.get("KG_CRASH_COPIES", "30"))
BIG_CLAIMS = int(os.environ.get("KG_CRASH_BIG_CLAIMS", "1500"))
FRACTIONS = (0.05, 0.25, 0.5, 0.75, 0.95)
OUTPUTS = ("kg.trig", "kg.nq", "summary.json")
CLAIM_COUNT = """PREFIX kg: <https://w3id.org/newskg/ontology#>
SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?g a kg:Claim } }"""


# --- helpers ------------------------------------------------------------------------------------

def _cli(*args, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kg.cli", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def _timed_cli(*args) -> float:
    started = time.perf_counter()
    done = _cli(*args)
    assert done.returncode == 0, done.stderr
    return time.perf_counter() - started


def _kill_after(args, delay: float) -> int:
    """Start ``kg ARGS``, SIGKILL it (by its own pid) after ``delay`` seconds; its exit status."""
    proc = subprocess.Popen([sys.executable, "-m", "kg.cli", *map(str, args)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
    return proc.wait()


def _copy_article(data: Path, src: str, new: str, extra: str) -> None:
    """A synthetic article: ``src``'s text plus one sentence, its metadata (new sha256) and its
    claims (``article:`` changed)."""
    raw = (DATA / "articles" / f"{src}.txt").read_bytes() + f"\n{extra}\n".encode("utf-8")
    (data / "articles" / f"{new}.txt").write_bytes(raw)
    meta = yaml.safe_load((DATA / "articles" / f"{src}.yaml").read_text(encoding="utf-8"))
    meta["sha256"] = hashlib.sha256(raw).hexdigest()
    (data / "articles" / f"{new}.yaml").write_text(
        yaml.safe_dump(meta, allow_unicode=True, sort_keys=False), encoding="utf-8")
    claims = (DATA / "claims" / f"{src}.yaml").read_text(encoding="utf-8")
    assert f"\narticle: {src}\n" in claims
    (data / "claims" / f"{new}.yaml").write_text(
        claims.replace(f"\narticle: {src}\n", f"\narticle: {new}\n", 1), encoding="utf-8")


def _corpus(target: Path, copies: int) -> Path:
    shutil.copytree(DATA, target)
    stems = sorted(p.stem for p in (DATA / "articles").glob("*.txt"))
    for i in range(copies):
        _copy_article(target, stems[i % len(stems)], f"{stems[i % len(stems)]}_copy{i:03d}",
                      f"Synthetic sentence number {i}.")
    return target


def _outputs(directory: Path, as_if: Path | None = None) -> dict[str, bytes]:
    """The output files of ``directory``, as they would read had it been built into ``as_if``
    (summary.json lists the output paths)."""
    found = {name: (directory / name).read_bytes() for name in OUTPUTS}
    if as_if is not None:
        found["summary.json"] = found["summary.json"].replace(str(directory).encode(),
                                                              str(as_if).encode())
    return found


def _which(out: Path, versions: dict[str, dict[str, bytes]]) -> dict[str, str]:
    """For each output file, the name of the version it is byte for byte ('?' for none)."""
    return {name: next((v for v, files in versions.items()
                        if (out / name).exists() and (out / name).read_bytes() == files[name]),
                       "?") for name in OUTPUTS}


def _parses(out: Path) -> dict:
    quads = sum(1 for _ in ox.parse(path=str(out / "kg.nq"), format=ox.RdfFormat.N_QUADS))
    trig = sum(1 for _ in ox.parse(path=str(out / "kg.trig"), format=ox.RdfFormat.TRIG))
    summary = json.loads((out / "summary.json").read_text())
    assert quads == trig == summary["triples"]
    return summary


def _claims_in_store(path: Path) -> int:
    store = Store(path, read_only=True)
    count = int(next(iter(store.raw.query(CLAIM_COUNT)))["n"].value)
    del store
    return count


def _staging(out: Path) -> list[str]:
    """Generation directories that are neither published nor the one before it."""
    keep = {os.readlink(out / "current")} if (out / "current").is_symlink() else set()
    return sorted(p.name for p in out.iterdir()
                  if p.name.startswith((".staging", ".gen-")) and p.name not in keep)


# --- kg build, killed -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def build_world(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash-build")
    old_data = _corpus(root / "old", COPIES)
    new_data = _corpus(root / "new", COPIES + 1)  # one article more
    out, ref = root / "out", root / "ref"
    _timed_cli("build", "--data", old_data, "--out", out, "--no-validate")
    seconds = _timed_cli("build", "--data", new_data, "--out", ref, "--no-validate")
    versions = {"old": _outputs(out), "new": _outputs(ref, as_if=out)}
    claims = {v: json.loads(files["summary.json"])["claims"] for v, files in versions.items()}
    assert claims["new"] > claims["old"] > 1000
    return {"old": old_data, "new": new_data, "out": out, "versions": versions,
            "claims": claims, "seconds": seconds, "log": []}


@pytest.mark.parametrize("fraction", FRACTIONS)
def test_build_killed_leaves_previous_outputs_and_store(build_world, fraction):
    w = build_world
    out = w["out"]
    assert set(_which(out, w["versions"]).values()) == {"old"}
    status = _kill_after(["build", "--data", w["new"], "--out", out, "--no-validate"],
                         w["seconds"] * fraction)
    which = _which(out, w["versions"])
    w["log"].append((fraction, status, which, _staging(out)))
    assert len(set(which.values())) == 1 and "?" not in which.values(), \
        f"killed at {fraction:.0%} (exit {status}): outputs are a mix {which}"
    version = which["kg.trig"]
    summary = _parses(out)
    assert summary["claims"] == w["claims"][version]
    assert _claims_in_store(out / "store") == w["claims"][version], \
        f"killed at {fraction:.0%}: the store does not match the {version} outputs"
    # the next build succeeds, stale staging directory or not, and restores the old outputs
    done = _cli("build", "--data", w["old"], "--out", out, "--no-validate")
    assert done.returncode == 0, done.stderr
    assert _which(out, w["versions"]) == dict.fromkeys(OUTPUTS, "old")
    assert _claims_in_store(out / "store") == w["claims"]["old"]


# --- kg add, killed ----------------------------------------------------------------------------

BIG = "zz_big"
BIG_SRC = "000_8613253b72fdd089"


def _big_article(data: Path, status: str) -> None:
    """One article with BIG_CLAIMS claims; ``status`` differs between the two versions, so every
    claim graph of one version differs from every one of the other."""
    text = (DATA / "articles" / f"{BIG_SRC}.txt").read_text(encoding="utf-8")
    text += "".join(f"\nReport {i}: North Korea did not send negotiators to session {i}.\n"
                    for i in range(BIG_CLAIMS))
    raw = text.encode("utf-8")
    (data / "articles" / f"{BIG}.txt").write_bytes(raw)
    meta = yaml.safe_load((DATA / "articles" / f"{BIG_SRC}.yaml").read_text(encoding="utf-8"))
    meta["sha256"] = hashlib.sha256(raw).hexdigest()
    (data / "articles" / f"{BIG}.yaml").write_text(yaml.safe_dump(meta, sort_keys=False),
                                                   encoding="utf-8")
    lines = [f"article: {BIG}", "claims:"]
    lines += [f"  - id: syn-{i}\n    quote: 'Report {i}: North Korea did not send negotiators "
              f"to session {i}.'\n    attendance: {{meeting: dmz-remains-talks, actor: North "
              f"Korea, status: {status}}}" for i in range(BIG_CLAIMS)]
    (data / "claims" / f"{BIG}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _article_state(path: Path) -> tuple[frozenset, int]:
    """The big article's graphs in the store at ``path`` and the quads in them."""
    store = Store(path, read_only=True)
    graphs = frozenset(map(str, store.graphs_of_article(BIG)))
    quads = sum(1 for g in graphs for _ in store.raw.quads_for_pattern(
        None, None, None, ox.NamedNode(g)))
    total = len(store)
    del store
    return graphs, quads, total


@pytest.fixture(scope="module")
def add_world(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash-add")
    v1, v2 = root / "v1", root / "v2"
    for data, status in ((v1, "absent"), (v2, "expected")):
        shutil.copytree(DATA, data)
        _big_article(data, status)
    out = root / "out"
    _timed_cli("build", "--data", v1, "--out", out, "--no-validate")
    pristine = root / "pristine"
    shutil.copytree(out / "store", pristine)
    ref = root / "ref"
    shutil.copytree(pristine, ref)
    seconds = _timed_cli("add", BIG, "--data", v2, "--store", ref, "--no-validate")
    # how long the same command takes to reach the store: it stops there, at the store's lock,
    # which this process holds (the lock is taken just before the store is opened)
    with exclusive(ref.parent):
        started = time.perf_counter()
        done = _cli("add", BIG, "--data", v2, "--store", ref, "--no-validate")
        before_store = time.perf_counter() - started
    assert done.returncode == 1 and "store is busy" in done.stderr, done.stderr
    old, new = _article_state(pristine), _article_state(ref)
    assert len(old[0]) == len(new[0]) == BIG_CLAIMS + 1 and len(old[0] & new[0]) == 1
    return {"v2": v2, "pristine": pristine, "work": root / "work", "old": old, "new": new,
            "seconds": seconds, "before_store": before_store, "log": []}


@pytest.mark.parametrize("where", ["loading", *FRACTIONS])
def test_add_killed_leaves_old_or_new_article_never_a_mix(add_world, where):
    w = add_world
    work = w["work"]
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(w["pristine"], work)
    if where == "loading":
        delay = w["before_store"] * 0.5
    else:  # within the store update, the part that matters
        delay = w["before_store"] + where * max(0.5, w["seconds"] - w["before_store"])
    status = _kill_after(["add", BIG, "--data", w["v2"], "--store", work, "--no-validate"],
                         delay)
    state = _article_state(work)  # opens read-only: neither locked nor corrupt
    version = "old" if state == w["old"] else "new" if state == w["new"] else None
    w["log"].append((where, status, version))
    assert version is not None, (
        f"killed at {where} (exit {status}): the article has {len(state[0])} graphs, "
        f"{len(state[0] & w['old'][0])} old and {len(state[0] & w['new'][0])} new, "
        f"{state[1]} quads (old {w['old'][1]}, new {w['new'][1]})")
    if where == "loading":
        assert version == "old"
    done = _cli("add", BIG, "--data", w["v2"], "--store", work, "--no-validate")
    assert done.returncode == 0, done.stderr
    assert _article_state(work) == w["new"]


def test_kills_really_happened(build_world, add_world):
    """The kills above must have hit running processes, or they prove nothing."""
    builds = [status for _f, status, _w, _s in build_world["log"]]
    adds = [(where, status, version) for where, status, version in add_world["log"]]
    assert len(builds) == len(FRACTIONS) and len(adds) == len(FRACTIONS) + 1
    assert builds.count(-signal.SIGKILL) >= 3, build_world["log"]
    assert sum(1 for where, status, _v in adds
               if where != "loading" and status == -signal.SIGKILL) >= 3, adds


# --- kg build, killed between the renames that publish its outputs ------------------------------

_DIE_BEFORE = r"""
import os, signal, sys
from pathlib import Path
data, out, target = sys.argv[1:4]
real = os.replace
def replace(src, dst):
    if Path(dst) == Path(out) / target:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(src, dst)
os.replace = replace
from kg.cli import cli
cli(["build", "--data", data, "--out", out, "--no-validate"])
"""


@pytest.fixture(scope="module")
def small_world(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash-window")
    old = _corpus(root / "old", 0)
    new = _corpus(root / "new", 1)
    ref_old, ref_new = root / "ref-old", root / "ref-new"
    _timed_cli("build", "--data", old, "--out", ref_old, "--no-validate")
    _timed_cli("build", "--data", new, "--out", ref_new, "--no-validate")
    return {"root": root, "old": old, "new": new, "ref_old": ref_old, "ref_new": ref_new}


def _old_outputs_in(w, tmp_path) -> Path:
    """A copy of the old build's outputs in a fresh ``out``, as if built there."""
    out = tmp_path / "out"
    shutil.copytree(w["ref_old"], out, symlinks=True)  # the generation and its symlinks
    (out / "summary.json").write_bytes(_outputs(w["ref_old"], as_if=out)["summary.json"])
    return out


def _die_before(w, target: str, tmp_path) -> tuple[Path, dict]:
    out = _old_outputs_in(w, tmp_path)
    done = subprocess.run([sys.executable, "-c", _DIE_BEFORE, str(w["new"]), str(out), target],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stderr
    versions = {"old": _outputs(w["ref_old"], as_if=out), "new": _outputs(w["ref_new"], as_if=out)}
    return out, _which(out, versions)


def _consistent(out: Path, which: dict, w) -> None:
    assert len(set(which.values())) == 1, f"outputs are a mix: {which}"
    version = which["kg.trig"]
    expected = json.loads((w["ref_" + version] / "summary.json").read_text())["claims"]
    assert (out / "store").is_dir(), "no store/ in the output directory"
    assert _claims_in_store(out / "store") == expected, f"store does not match {version} files"


def test_kill_inside_staging_dump_leaves_old_outputs(small_world, tmp_path):
    """Dying before the dumped kg.trig is renamed into the staging directory: the control case
    for the deterministic kills below."""
    out = _old_outputs_in(small_world, tmp_path)
    script = _DIE_BEFORE.replace("if Path(dst) == Path(out) / target:",
                                 "if Path(dst).name == 'kg.trig' and "
                                 "Path(dst).parent.name.startswith('.gen-'):")
    done = subprocess.run([sys.executable, "-c", script, str(small_world["new"]), str(out), "x"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert _outputs(out) == _outputs(small_world["ref_old"], as_if=out)
    _consistent(out, dict.fromkeys(OUTPUTS, "old"), small_world)
    assert _staging(out), "the killed build's generation directory is left behind"
    done = _cli("build", "--data", small_world["new"], "--out", out, "--no-validate")
    assert done.returncode == 0, done.stderr
    previous = {p.name for p in out.iterdir() if p.name.startswith(".gen-")} - {
        os.readlink(out / "current")}
    assert len(previous) == 1, "only the generation replaced by this build is kept"


# kg build publishes a generation by renaming one symlink (``current``); the output names are
# symlinks through it. Killing the build just before that rename must leave the old outputs,
# and the next build must succeed.
@pytest.mark.parametrize("target", ["current"])
def test_kill_before_publishing_leaves_no_mix(small_world, tmp_path, target):
    out, which = _die_before(small_world, target, tmp_path)
    assert set(which.values()) == {"old"}
    _consistent(out, which, small_world)
    done = _cli("build", "--data", small_world["new"], "--out", out, "--no-validate")
    assert done.returncode == 0, done.stderr
    assert set(_which(out, {"new": _outputs(small_world["ref_new"], as_if=out)}).values()) == {"new"}


def test_next_build_clears_stale_staging(small_world, tmp_path):
    out = _old_outputs_in(small_world, tmp_path)
    (out / ".staging-999999999" / "store").mkdir(parents=True)  # as older builds left it
    (out / ".gen-deadbeef0000" / "store").mkdir(parents=True)   # a killed build's generation
    before = os.readlink(out / "current")
    done = _cli("build", "--data", small_world["old"], "--out", out, "--no-validate")
    assert done.returncode == 0, done.stderr
    assert _staging(out) == [before]  # only the generation this build replaced is kept
