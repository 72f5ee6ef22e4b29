"""Fetching Apache Kafka's broker jars from Maven Central with `mvn`.

Kafka publishes its server as ordinary Maven artifacts (`org.apache.kafka:kafka_2.13` and the
modules it depends on), so a JDK and Maven are all a machine needs: no tarball download, no
Docker. The jars land in a cache folder outside the repository and are reused.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_KAFKA_VERSION = "4.4.0"
_POM = Path(__file__).with_name("pom.xml")
_MIN_JAVA = 17
_FETCH_TIMEOUT_S = 900


class KafkaSetupError(RuntimeError):
    """A local broker can't be fetched or started; the message says what to do, in one line."""


@dataclass(frozen=True)
class KafkaDistribution:
    """The fetched jars of one Kafka version and the Java that runs them."""

    version: str
    libs_dir: Path
    java: str

    @property
    def classpath(self) -> str:
        return str(self.libs_dir / "*")


def default_cache_dir() -> Path:
    """Where fetched jars live: `$HEADWATER_CACHE_DIR`, else `$XDG_CACHE_HOME/headwater`."""
    explicit = os.environ.get("HEADWATER_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "headwater"


def find_java() -> str:
    """The `java` to run the broker with, checked to be version 17 or newer."""
    java_home = os.environ.get("JAVA_HOME")
    candidate = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not candidate or not Path(candidate).exists():
        raise KafkaSetupError(
            "Java not found: install a JDK 17+ (e.g. `apt-get install openjdk-17-jre-headless`) "
            "and put `java` on PATH or set JAVA_HOME"
        )
    try:
        out = subprocess.run(
            [candidate, "-version"], capture_output=True, text=True, timeout=30
        ).stderr
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise KafkaSetupError(f"Java at {candidate} does not run ({exc}): reinstall a JDK 17+") from exc
    major = _java_major(out)
    if major is not None and major < _MIN_JAVA:
        raise KafkaSetupError(
            f"Java {major} at {candidate} is too old: Kafka needs Java {_MIN_JAVA}+; "
            "install a newer JDK or point JAVA_HOME at one"
        )
    return candidate


def _java_major(version_output: str) -> int | None:
    for token in version_output.replace('"', " ").split():
        head = token.split(".")[0]
        if head.isdigit() and ("." in token or token.isdigit()):
            value = int(head)
            return int(token.split(".")[1]) if value == 1 else value
    return None


def fetch_distribution(
    version: str = DEFAULT_KAFKA_VERSION,
    cache_dir: Path | None = None,
    maven_repo: str | None = None,
) -> KafkaDistribution:
    """Return the jars of Kafka `version`, fetching them with Maven the first time.

    Args:
        version: Kafka version, e.g. "4.4.0".
        cache_dir: folder for fetched jars (default: `default_cache_dir()`).
        maven_repo: a Maven repository URL to use instead of Maven Central
            (`$HEADWATER_MAVEN_REPO`); mainly for mirrors and for tests.

    Raises:
        KafkaSetupError: Java or Maven is missing, or Maven could not fetch the artifacts.
    """
    java = find_java()
    libs = (cache_dir or default_cache_dir()) / f"kafka-{version}" / "libs"
    if (libs / ".complete").exists():
        return KafkaDistribution(version, libs, java)
    mvn = shutil.which("mvn")
    if not mvn:
        raise KafkaSetupError(
            "Maven not found: install it (e.g. `apt-get install maven`) so headwater can fetch "
            "Kafka from Maven Central"
        )
    _run_maven(mvn, version, libs, maven_repo or os.environ.get("HEADWATER_MAVEN_REPO"))
    (libs / ".complete").write_text(version)
    return KafkaDistribution(version, libs, java)


def _run_maven(mvn: str, version: str, libs: Path, maven_repo: str | None) -> None:
    staging = libs.with_name("libs.partial")
    shutil.rmtree(staging, ignore_errors=True)
    cmd = [
        mvn, "-B", "-q", "-Dstyle.color=never", "-f", str(_POM),
        "dependency:copy-dependencies",
        f"-Dkafka.version={version}",
        f"-DoutputDirectory={staging}",
        "-DincludeScope=runtime",
        # Fail fast when the repository is unreachable instead of retrying for minutes.
        "-Dmaven.wagon.http.retryHandler.count=0",
        "-Dmaven.wagon.rto=30000",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        if maven_repo:
            settings = Path(tmp) / "settings.xml"
            settings.write_text(_mirror_settings(maven_repo))
            cmd += ["-s", str(settings), f"-Dmaven.repo.local={Path(tmp) / 'repo'}"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=_FETCH_TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            raise KafkaSetupError(
                f"Maven took over {_FETCH_TIMEOUT_S}s fetching Kafka {version}: check the network "
                "to Maven Central (or set HEADWATER_MAVEN_REPO to a mirror) and retry"
            ) from exc
    if proc.returncode != 0:
        raise KafkaSetupError(
            f"Maven could not fetch Kafka {version} ({_maven_reason(proc.stdout + proc.stderr)}): "
            "check that Maven Central is reachable (or set HEADWATER_MAVEN_REPO to a mirror) and retry"
        )
    libs.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)


def _mirror_settings(url: str) -> str:
    return (
        "<settings><mirrors><mirror><id>headwater</id><mirrorOf>*</mirrorOf>"
        f"<url>{url}</url></mirror></mirrors></settings>"
    )


def _maven_reason(output: str) -> str:
    output = re.sub(r"\x1b\[[0-9;]*m", "", output)
    errors = [line.strip() for line in output.splitlines() if "[ERROR]" in line and line.strip()]
    reason = errors[0].replace("[ERROR]", "").strip() if errors else "exit status non-zero"
    return reason[:240]
