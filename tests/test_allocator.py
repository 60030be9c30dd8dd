"""kg's processes run with mimalloc where it is a dependency (kg.allocator): the ``kg`` command
starts itself again with it preloaded, and the processes it starts inherit it."""

import os
import platform
import shutil
import subprocess
import sys
import textwrap

import pytest

from kg import allocator

# pyproject.toml declares cmeel-mimalloc for these alone: elsewhere there is nothing to preload
DECLARED = sys.platform.startswith("linux") and platform.machine() == "x86_64"
needs_mimalloc = pytest.mark.skipif(not DECLARED, reason="cmeel-mimalloc is a dependency on "
                                                         "Linux x86_64 only")


def _plain_env(**extra):
    """This environment without a preloaded allocator or a restart already done."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_PRELOAD", allocator.SWITCH, allocator._RESTARTED)}
    env.update(extra)
    return env


def _python(code, env):
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@needs_mimalloc
def test_the_library_is_installed_with_kg():
    lib = allocator.library()
    assert lib is not None and lib.is_file() and lib.name.startswith("libmimalloc.so")


def test_the_switch_keeps_the_c_library_allocator(monkeypatch):
    monkeypatch.setenv(allocator.SWITCH, "system")
    assert allocator.library() is None
    env = allocator.environ(_plain_env(**{allocator.SWITCH: "system"}))
    assert "LD_PRELOAD" not in env


@needs_mimalloc
def test_a_process_started_with_its_environment_runs_mimalloc_and_keeps_other_preloads():
    code = "import kg.allocator as a; print(a.active())"
    assert _python(code, _plain_env()) == ["False"]
    env = allocator.environ(_plain_env(LD_PRELOAD="/nonexistent/libother.so"))
    assert env["LD_PRELOAD"].split(":") == [str(allocator.library()), "/nonexistent/libother.so"]
    assert _python(code, allocator.environ(_plain_env())) == ["True"]


@needs_mimalloc
def test_restart_runs_the_program_again_with_mimalloc_once():
    code = """
        import os, sys
        import kg.allocator as a
        print("started", a.active(), os.environ.get("KG_ALLOCATOR_RESTARTED"))
        a.restart()
        print("going-on", a.active(), sys.argv[1:])
    """
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code), "x", "y z"],
                         env=_plain_env(), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    # the first run ends at restart(); the second, with mimalloc, goes on with the same args
    assert out.stdout.splitlines() == ["started False None", "started True 1",
                                       "going-on True ['x', 'y z']"]
    # started again once before and still without it (it could not be preloaded): no loop
    assert _python(code, _plain_env(KG_ALLOCATOR_RESTARTED="1")) == [
        "started", "False", "1", "going-on", "False", "[]"]


@needs_mimalloc
@pytest.mark.parametrize("how", ["console script", "python -m kg.cli"])
def test_the_kg_command_runs_with_mimalloc_unless_told_not_to(how):
    cmd = [shutil.which("kg") or pytest.fail("the kg command is not installed")] \
        if how == "console script" else [sys.executable, "-m", "kg.cli"]
    done = subprocess.run([*cmd, "--version"], env=_plain_env(), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "memory allocator: mimalloc" in done.stdout
    done = subprocess.run([*cmd, "--version"], env=_plain_env(**{allocator.SWITCH: "system"}),
                          capture_output=True, text=True, timeout=120)
    assert "memory allocator: the C library's malloc" in done.stdout


@needs_mimalloc
def test_the_query_workers_of_a_process_with_mimalloc_inherit_it(store_path):
    code = f"""
        from kg.worker import QueryRunner
        if __name__ == "__main__":
            with QueryRunner({str(store_path)!r}, workers=1) as r:
                r.select("SELECT * WHERE {{ ?s ?p ?o }} LIMIT 1")
                for pid in r.worker_pids:
                    print("libmimalloc" in open(f"/proc/{{pid}}/maps").read())
    """
    assert _python(code, allocator.environ(_plain_env())) == ["True"]
    assert _python(code, _plain_env()) == ["False"]


@needs_mimalloc
def test_a_build_under_mimalloc_writes_the_same_graph(tmp_path):
    """The allocator changes no answer: the seed build's N-Quads are the same bytes."""
    code = f"""
        from kg.pipeline import build, DEFAULT_DATA
        build(DEFAULT_DATA, {str(tmp_path / "OUT")!r}, validate=False)
    """
    for name, env in (("a", allocator.environ(_plain_env())), ("b", _plain_env())):
        _python(code.replace("OUT", name), env)
    assert (tmp_path / "a" / "kg.nq").read_bytes() == (tmp_path / "b" / "kg.nq").read_bytes()
