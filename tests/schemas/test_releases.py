"""Released schemas are append-only and readable forever; today's may change only compatibly.

A released schema that changes fails here (its text no longer matches the manifest written
when it was released). Today's (unreleased) schemas are free to change between releases as
long as every release's data stays readable: other work adding fields with defaults is not
blocked, and cutting a release is the deliberate ``python -m schemas.avro.release vN``.
"""

from __future__ import annotations

import copy
import hashlib
import shutil
from pathlib import Path

import orjson
import pytest

from schemas.avro import release as releases
from schemas.avro.catalogue import AVSC_DIR, CATALOGUE, generate_files
from schemas.avro.release import (
    ReleaseRefused,
    cut_release,
    incompatibilities,
    known_schema,
    load_release,
    released_versions,
)
from schemas.codec import Codec
from schemas.codec_errors import DecodeError, DecodeReason
from schemas.registry import schema_fingerprint_id
from tests.schemas.golden import load_records


@pytest.mark.parametrize("version", released_versions())
def test_a_released_schema_is_never_edited(version: str) -> None:
    release = load_release(version)
    folder = releases.RELEASES_DIR / version
    assert {p.name for p in folder.iterdir()} == {*release.manifest, "manifest.json"}
    for name, entry in release.manifest.items():
        text = release.files[name]
        assert hashlib.sha256(text.encode()).hexdigest() == entry["sha256"], (
            f"{version}/{name} was edited: released schemas are append-only; "
            "change today's schema and cut a new release instead")
        assert schema_fingerprint_id(text) == entry["id"]


@pytest.mark.parametrize("version", released_versions())
def test_every_topic_of_a_release_has_its_key_and_value(version: str) -> None:
    names = set(load_release(version).files)
    # A topic added after a release (its first release will hold it) is not in the older ones.
    roles = [r for r in CATALOGUE if version not in ADDED_AFTER.get(r, ())]
    assert {CATALOGUE[r].value_file() for r in roles} <= names
    assert {CATALOGUE[r].key_file() for r in roles} <= names


ADDED_AFTER: dict[str, tuple[str, ...]] = {"alerts": ("v1",)}
"""Topic role -> the releases made before the topic existed."""


def test_todays_schemas_read_the_data_of_every_release() -> None:
    assert incompatibilities() == [], (
        "today's schemas must stay BACKWARD compatible with every release: add fields with "
        "defaults, or a v2 record beside the v1 one (docs/events.md)")


def test_the_golden_records_carry_their_releases_ids_and_decode_with_the_default_codec() -> None:
    codec = Codec()
    for version in released_versions():
        ids = {e["id"] for e in load_release(version).manifest.values()}
        for record in load_records(version):
            data = bytes.fromhex(record["value_hex"])
            assert int.from_bytes(data[1:5], "big") in ids
            event = codec.decode_value(f"hw.{record['topic']}", data)
            assert type(event).__name__ == record["event"]


def test_a_schema_id_of_no_release_is_still_unknown() -> None:
    data = b"\x00\x00\x00\x00\x07\x00"
    assert known_schema(7) is None
    with pytest.raises(DecodeError) as caught:
        Codec().decode_value("hw.executions", data)
    assert caught.value.reason is DecodeReason.UNKNOWN_SCHEMA_ID


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the releases folder the release command may write to."""
    folder = tmp_path / "releases"
    shutil.copytree(releases.RELEASES_DIR, folder)
    monkeypatch.setattr(releases, "RELEASES_DIR", folder)
    releases._known.cache_clear()
    releases.known_schema.cache_clear()
    yield folder
    releases._known.cache_clear()
    releases.known_schema.cache_clear()


def _today_equals_latest_release() -> bool:
    latest = load_release(released_versions()[-1])
    return all(latest.files.get(n) == (AVSC_DIR / n).read_text() for n in generate_files())


def test_cutting_a_release_snapshots_todays_schemas_then_refuses_a_second_identical_one(
        scratch: Path) -> None:
    versions = released_versions()
    following = f"v{int(versions[-1][1:]) + 1}"
    with pytest.raises(ReleaseRefused, match=f"the next release is {following}"):
        cut_release(f"v{int(versions[-1][1:]) + 2}")
    with pytest.raises(ReleaseRefused, match="named v1, v2"):
        cut_release("latest")
    if _today_equals_latest_release():
        with pytest.raises(ReleaseRefused, match="nothing changed"):
            cut_release(following)
        return
    cut = cut_release(following)
    assert cut.files == {n: (AVSC_DIR / n).read_text() for n in generate_files()}
    assert released_versions() == [*versions, following]
    value_id = cut.manifest["executions-value.avsc"]["id"]
    assert known_schema(value_id) is not None
    with pytest.raises(ReleaseRefused, match="nothing changed"):
        cut_release(f"v{int(following[1:]) + 1}")


def test_an_incompatible_schema_cannot_be_released(scratch: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    files = generate_files()
    tasks = orjson.loads(files["tasks-value.avsc"])
    changed = copy.deepcopy(tasks)
    changed[0]["fields"].append({"name": "priority", "type": "long"})  # required: incompatible
    files["tasks-value.avsc"] = orjson.dumps(changed).decode()
    faults = incompatibilities(files)
    assert faults and all("TaskRequested.priority: new field without a default" in f
                          for f in faults)
    monkeypatch.setattr(releases, "generate_files", lambda: files)
    monkeypatch.setattr(releases, "AVSC_DIR", scratch / "current")
    (scratch / "current").mkdir()
    for name, text in files.items():
        (scratch / "current" / name).write_text(text)
    versions = released_versions()
    with pytest.raises(ReleaseRefused, match="cannot read released data"):
        cut_release(f"v{int(versions[-1][1:]) + 1}")
    assert released_versions() == versions


def test_the_release_command_exits_2_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert releases.main(["v0"]) == 2
    assert "named v1, v2" in capsys.readouterr().err


def test_released_ids_cannot_be_mistaken_for_a_registrys_sequential_ids() -> None:
    ids = {e["id"] for v in released_versions() for e in load_release(v).manifest.values()}
    ids |= {schema_fingerprint_id((AVSC_DIR / n).read_text()) for n in generate_files()}
    assert min(ids) > 2**24  # the codec tries these before asking a registry (docs/events.md)
