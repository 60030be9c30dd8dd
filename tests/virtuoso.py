"""A private, throw-away Virtuoso for the remote-store tests.

:class:`Virtuoso` writes its own ``virtuoso.ini`` into a scratch directory (own database files,
SQL and HTTP ports on free loopback ports, ``DirsAllowed`` limited to that directory, small
buffers), runs ``virtuoso-t +foreground`` as a child process, waits until its SPARQL endpoint
answers, and on :meth:`~Virtuoso.stop` terminates it (then kills it) and removes its files.

Debian's ``virtuoso-opensource-7-bin`` package (part of ``virtuoso-opensource``) provides
``/usr/bin/virtuoso-t``; ``bash tests/system-deps.sh`` installs it. The server creates a fresh
database on first start, with the user ``dba`` (password ``dba``): it listens on loopback only.

Endpoints of a fresh database (Virtuoso 7.2)::

    /sparql                   SPARQL 1.1 query; updates are refused (they need the role
                              SPARQL_UPDATE granted to the user "SPARQL" through isql)
    /sparql-auth              query and update, HTTP digest auth (dba)
    /sparql-graph-crud-auth   Graph Store HTTP Protocol, HTTP digest auth (dba)
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

__all__ = ["Virtuoso", "VirtuosoMissing", "find_virtuoso", "INSTALL_HINT"]

INSTALL_HINT = ("Virtuoso is not installed: run `bash tests/system-deps.sh` "
                "(Debian package virtuoso-opensource-7-bin, which provides virtuoso-t)")


class VirtuosoMissing(RuntimeError):
    """``virtuoso-t`` is not on this machine."""


def find_virtuoso() -> str:
    """The path of ``virtuoso-t``; :class:`VirtuosoMissing` (saying how to install it) if none."""
    server = shutil.which("virtuoso-t") or (
        "/usr/bin/virtuoso-t" if os.access("/usr/bin/virtuoso-t", os.X_OK) else None)
    if server is None:
        raise VirtuosoMissing(INSTALL_HINT)
    return server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_INI = """\
[Database]
DatabaseFile       = {root}/virtuoso.db
ErrorLogFile       = {root}/virtuoso.log
LockFile           = {root}/virtuoso.lck
TransactionFile    = {root}/virtuoso.trx
xa_persistent_file = {root}/virtuoso.pxa
ErrorLogLevel      = 7
FileExtend         = 200
MaxCheckpointRemap = 2000
Striping           = 0
TempStorage        = TempDatabase

[TempDatabase]
DatabaseFile       = {root}/virtuoso-temp.db
TransactionFile    = {root}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping           = 0

[Parameters]
ServerPort               = 127.0.0.1:{sql_port}
LiteMode                 = 0
DisableUnixSocket        = 1
DisableTcpSocket         = 0
MaxClientConnections     = 10
CheckpointInterval       = 60
O_DIRECT                 = 0
CaseMode                 = 2
MaxStaticCursorRows      = 5000
CheckpointAuditTrail     = 0
AllowOSCalls             = 0
SchedulerInterval        = 10
DirsAllowed              = {root}
ThreadCleanupInterval    = 0
ThreadThreshold          = 10
ResourcesCleanupInterval = 0
FreeTextBatchSize        = 100000
SingleCPU                = 0
PrefixResultNames        = 0
RdfFreeTextRulesSize     = 100
IndexTreeMaps            = 64
MaxMemPoolSize           = 40000000
MaxQueryMem              = 256M
VectorSize               = 1000
MaxVectorSize            = 1000000
AdjustVectorSize         = 0
ThreadsPerQuery          = 2
AsyncQueueMaxThreads     = 4
NumberOfBuffers          = 10000
MaxDirtyBuffers          = 6000

[HTTPServer]
ServerPort                  = 127.0.0.1:{http_port}
ServerRoot                  = {root}/www
MaxClientConnections        = 5
DavRoot                     = DAV
EnabledDavVSP               = 0
HTTPProxyEnabled            = 0
TempASPXDir                 = 0
ServerThreads               = 5
MaxKeepAlives               = 5
KeepAliveTimeout            = 10
MaxCachedProxyConnections   = 5
ProxyConnectionCacheTimeout = 15
HTTPThreadSize              = 280000
HttpPrintWarningsInOutput   = 0
Charset                     = UTF-8
EnabledGzipContent          = 0

[AutoRepair]
BadParentLinks = 0

[Client]
SQL_PREFETCH_ROWS  = 100
SQL_PREFETCH_BYTES = 16000
SQL_QUERY_TIMEOUT  = 0
SQL_TXN_TIMEOUT    = 0

[URIQA]
DynamicLocal = 0
DefaultHost  = 127.0.0.1:{http_port}

[SPARQL]
ResultSetMaxRows           = 1000000
MaxQueryCostEstimationTime = 400
MaxQueryExecutionTime      = 120
DeferInferenceRulesInit    = 0
"""


class Virtuoso:
    """One private Virtuoso server in ``root`` (a fresh scratch directory if not given).

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    user = "dba"

    def __init__(self, root: Path | str | None = None):
        self.server = find_virtuoso()
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="kg-virtuoso-") if root is None else root)
        self.password = "dba"
        self.proc: subprocess.Popen | None = None
        self.sql_port = self.http_port = 0
        self.start_seconds: float | None = None

    # --- addresses --------------------------------------------------------------------------
    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def sparql_url(self) -> str:
        """Query endpoint, no authentication."""
        return self.base + "/sparql"

    @property
    def auth_url(self) -> str:
        """Query and update endpoint behind digest authentication."""
        return self.base + "/sparql-auth"

    @property
    def gsp_url(self) -> str:
        """Graph Store HTTP Protocol endpoint behind digest authentication."""
        return self.base + "/sparql-graph-crud-auth"

    # --- life cycle -------------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> "Virtuoso":
        t0 = time.monotonic()
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "www").mkdir(exist_ok=True)
        last = None
        for _attempt in range(3):       # a free port can be taken between probe and bind
            self.sql_port, self.http_port = _free_port(), _free_port()
            while self.http_port == self.sql_port:
                self.http_port = _free_port()
            ini = self.root / "virtuoso.ini"
            ini.write_text(_INI.format(root=self.root, sql_port=self.sql_port,
                                       http_port=self.http_port))
            log = open(self.root / "stdout.log", "ab")
            try:
                self.proc = subprocess.Popen(
                    [self.server, "+foreground", "+configfile", str(ini)], cwd=self.root,
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True)
            finally:
                log.close()
            try:
                self._wait(t0 + timeout)
                self.start_seconds = time.monotonic() - t0
                return self
            except RuntimeError as exc:
                last = exc
                self._halt()
                if "address already in use" not in str(exc).lower():
                    break
                for leftover in self.root.glob("virtuoso*"):
                    if leftover.name != "virtuoso.ini":
                        leftover.unlink()
        raise last

    def _log_tail(self, lines: int = 25) -> str:
        text = ""
        for name in ("virtuoso.log", "stdout.log"):
            path = self.root / name
            if path.exists():
                text += "".join(path.read_text(errors="replace").splitlines(True)[-lines:])
        return text

    def _wait(self, deadline: float) -> None:
        probe = self.sparql_url + "?" + urllib.parse.urlencode({"query": "ASK {}"})
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"virtuoso-t exited with {self.proc.returncode}:\n"
                                   + self._log_tail())
            try:
                with urllib.request.urlopen(probe, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("virtuoso-t did not answer on "
                                   f"{self.sparql_url} in time:\n" + self._log_tail())
            time.sleep(0.25)

    def _halt(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)

    def stop(self) -> None:
        """Stop the server (terminate, then kill) and remove its files."""
        self._halt()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "Virtuoso":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
