"""Apicurio Registry 3.x from Maven Central, run with ``java -jar`` like the local Kafka.

Maven Central publishes the whole runnable server as ``io.apicurio:apicurio-registry-app:
<version>:tar.gz:all`` (the app's plain jar is an un-augmented Quarkus module and cannot run).
It is fetched once with ``mvn dependency:copy`` into the cache folder (never the repository)
and unpacked there. Its default storage is a fresh in-memory H2 database per start, so every
start is an empty registry.

Java: 3.3.x is compiled for Java 21 and fails on 17 with ``UnsupportedClassVersionError``;
3.0.x runs on 17. The newest Java 21+ found (``JAVA_HOME``, ``java`` on PATH, the system JVM
folder) runs 3.3.x; with only Java 17, 3.0.x runs instead, and ``describe()`` says which.
(3.0.x's parent POM is not on Maven Central, so the pom-less ``dependency:copy`` goal, which
does not read it, is the one that works for both.)
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from infra.kafka.distribution import _java_major, _maven_reason, _mirror_settings, default_cache_dir

APICURIO_VERSIONS = {21: "3.3.3", 17: "3.0.9"}
"""Apicurio version by the least Java major version it runs on, newest first."""

_FETCH_TIMEOUT_S = 900
_JVM_DIRS = (Path("/usr/lib/jvm"), Path("/opt/java"), Path("/Library/Java/JavaVirtualMachines"))


class RegistrySetupError(RuntimeError):
    """The local registry cannot be fetched or started; the message says why, in one line."""


@dataclass(frozen=True)
class ApicurioDistribution:
    """An unpacked Apicurio Registry and the Java that runs it."""

    version: str
    home: Path
    java: str
    java_major: int

    @property
    def jar(self) -> Path:
        """The runnable jar: ``quarkus-run.jar`` (fast-jar layout, 3.1+) or the legacy runner."""
        fast = self.home / "quarkus-run.jar"
        return fast if fast.exists() else self.home / f"apicurio-registry-app-{self.version}-runner.jar"

    def describe(self) -> str:
        """e.g. ``Apicurio Registry 3.3.3 on Java 25 (/usr/lib/jvm/.../java)``."""
        return f"Apicurio Registry {self.version} on Java {self.java_major} ({self.java})"


def _javas() -> list[tuple[int, str]]:
    """(major, path) of every Java found, newest first."""
    candidates = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]) / "bin" / "java")
    if shutil.which("java"):
        candidates.append(Path(shutil.which("java") or "java"))
    for folder in _JVM_DIRS:
        if folder.is_dir():
            candidates += sorted(folder.glob("*/bin/java")) + sorted(folder.glob("*/Contents/Home/bin/java"))
    found: dict[str, int] = {}
    for path in candidates:
        real = str(path.resolve())
        if real in found or not path.exists():
            continue
        try:
            out = subprocess.run([str(path), "-version"], capture_output=True, text=True,
                                 timeout=30).stderr
        except (OSError, subprocess.TimeoutExpired):
            continue
        major = _java_major(out)
        if major is not None:
            found[real] = major
    return sorted(((m, p) for p, m in found.items()), reverse=True)


def choose_java() -> tuple[str, int, str]:
    """(java, its major version, the Apicurio version it runs).

    Raises:
        RegistrySetupError: No Java 17+ is installed.
    """
    javas = _javas()
    for least, version in sorted(APICURIO_VERSIONS.items(), reverse=True):
        for major, path in javas:
            if major >= least:
                return path, major, version
    seen = ", ".join(f"Java {m} at {p}" for m, p in javas) or "no Java"
    raise RegistrySetupError(f"Apicurio Registry needs Java 17+ (21+ for 3.3), found {seen}")


def fetch_apicurio(version: str | None = None, cache_dir: Path | None = None,
                   maven_repo: str | None = None) -> ApicurioDistribution:
    """The unpacked registry (fetched with Maven the first time) and the Java to run it.

    Args:
        version: An Apicurio version; default: the newest the installed Java runs.
        cache_dir: Where to keep it (default: headwater's cache folder, as for Kafka).
        maven_repo: A Maven repository to use instead of Maven Central (``$HEADWATER_MAVEN_REPO``).

    Raises:
        RegistrySetupError: No suitable Java, no Maven, or Maven could not fetch it (the
            message carries Maven's own first error line).
    """
    java, major, chosen = choose_java()
    version = version or chosen
    home = (cache_dir or default_cache_dir()) / f"apicurio-{version}"
    if not (home / ".complete").exists():
        _fetch(version, home, maven_repo or os.environ.get("HEADWATER_MAVEN_REPO"))
    return ApicurioDistribution(version, home, java, major)


def _fetch(version: str, home: Path, maven_repo: str | None) -> None:
    mvn = shutil.which("mvn")
    if not mvn:
        raise RegistrySetupError("Maven not found: install it (e.g. `apt-get install maven`) so "
                                 "headwater can fetch Apicurio Registry from Maven Central")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [mvn, "-B", "-q", "-Dstyle.color=never", "dependency:copy",
               f"-Dartifact=io.apicurio:apicurio-registry-app:{version}:tar.gz:all",
               f"-DoutputDirectory={tmp}", "-Dmaven.wagon.http.retryHandler.count=0",
               "-Dmaven.wagon.rto=30000"]
        if maven_repo:
            settings = Path(tmp) / "settings.xml"
            settings.write_text(_mirror_settings(maven_repo))
            cmd += ["-s", str(settings)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=_FETCH_TIMEOUT_S,
                                  cwd=tmp)
        except subprocess.TimeoutExpired as exc:
            raise RegistrySetupError(f"Maven took over {_FETCH_TIMEOUT_S}s fetching Apicurio "
                                     f"Registry {version}") from exc
        archive = Path(tmp) / f"apicurio-registry-app-{version}-all.tar.gz"
        if proc.returncode != 0 or not archive.exists():
            raise RegistrySetupError(f"Maven could not fetch Apicurio Registry {version} "
                                     f"({_maven_reason(proc.stdout + proc.stderr)})")
        staging = home.with_name(home.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        with tarfile.open(archive) as tar:
            tar.extractall(staging, filter="data")
    shutil.rmtree(home, ignore_errors=True)
    staging.rename(home)
    (home / ".complete").write_text(version)


def _die_with_parent() -> None:
    # A test registry must not outlive a test session killed without its teardown (a timeout,
    # SIGKILL): Linux then sends it SIGTERM.
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class LocalRegistry:
    """One Apicurio Registry process on 127.0.0.1, empty at every start.

    Args:
        dist: What ``fetch_apicurio`` returned.
        port: The HTTP port; the management port (health, 3.3+) is ``port + 1``.
        log: Where the server's output goes (a file in the temp folder by default).
    """

    def __init__(self, dist: ApicurioDistribution, port: int, log: Path | None = None) -> None:
        self.dist = dist
        self.port = port
        self.log = log or Path(tempfile.gettempdir()) / f"hw-apicurio-{port}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The Confluent-compatible API's base URL (what a Confluent client is given)."""
        return f"http://127.0.0.1:{self.port}/apis/ccompat/v7"

    def start(self, timeout_s: float = 120) -> float:
        """Start the server and wait until the Confluent API answers; returns the seconds taken.

        Raises:
            RegistrySetupError: The process exited, or did not answer in time (with the last
                lines of its log).
        """
        args = [self.dist.java, "-Xmx256m", "-Dquarkus.http.host=127.0.0.1",
                f"-Dquarkus.http.port={self.port}", "-Dquarkus.management.host=127.0.0.1",
                f"-Dquarkus.management.port={self.port + 1}", "-jar", str(self.dist.jar)]
        began = time.monotonic()
        with self.log.open("wb") as out:
            self._proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                          cwd=self.dist.home, start_new_session=True,
                                          preexec_fn=_die_with_parent)
        while True:
            if self._proc.poll() is not None:
                raise RegistrySetupError(f"{self.dist.describe()} exited with "
                                         f"{self._proc.returncode}: {self._tail()}")
            try:
                if httpx.get(f"{self.url}/subjects", timeout=2).status_code == 200:
                    return time.monotonic() - began
            except httpx.HTTPError:
                pass
            if time.monotonic() - began > timeout_s:
                self.stop()
                raise RegistrySetupError(f"{self.dist.describe()} did not answer in "
                                         f"{timeout_s:.0f}s: {self._tail()}")
            time.sleep(0.2)

    def _tail(self) -> str:
        try:
            lines = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        errors = [line for line in lines if "ERROR" in line] or lines
        return " | ".join(errors[-3:])[:600]

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s)."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
