"""`headwater`: the command line front door."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from pydantic import SecretStr
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from headwater.cli_admin import dead_letters_app, views_app
from headwater.cli_bench import bench
from headwater.cli_history import workflows_history  # noqa: F401 - adds workflows history|diff|comment
from headwater.cli_migrate import executions_migrate  # noqa: F401 - adds executions migrate
from headwater.cli_ops import executions_app, produce, rules_app, workflows_app
from headwater.cli_rules import rules_firings, rules_import, rules_insights, rules_test
from headwater.cli_templates import templates_app
from headwater.cli_testrun import test_workflow
from headwater.settings import Settings
from infra.kafka import ClusterLayout, KafkaSetupError, LocalCluster, fetch_distribution
from infra.kafka.cluster import wait_for_metadata
from infra.topics import create_topics, topic_names

if TYPE_CHECKING:
    from streams.workers.secrets import SecretStore

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="headwater: event-sourced workflow and rules engine on Apache Kafka")
kafka_app = typer.Typer(no_args_is_help=True, help="The local Kafka broker (KRaft), fetched from Maven Central")
app.add_typer(kafka_app, name="kafka")
app.add_typer(executions_app, name="executions")
app.add_typer(rules_app, name="rules")
rules_app.command("test")(rules_test)
rules_app.command("insights")(rules_insights)
rules_app.command("firings")(rules_firings)
rules_app.command("import")(rules_import)
app.add_typer(workflows_app, name="workflows")
app.add_typer(dead_letters_app, name="dead-letters")
app.add_typer(views_app, name="views")
app.add_typer(templates_app, name="templates")
app.command("produce")(produce)
app.command("test")(test_workflow)
app.command("bench", context_settings={"allow_extra_args": True,
                                       "ignore_unknown_options": True})(bench)
out = Console()
err = Console(stderr=True)

NodesOpt = Annotated[int | None, typer.Option("--nodes", "-n", min=1, max=9, help="cluster nodes")]
PortOpt = Annotated[int | None, typer.Option("--port", "-p", min=1024, max=65000, help="first port")]


def _settings(**overrides: object) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**values)  # type: ignore[arg-type]


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _cluster(settings: Settings, secure: bool = False) -> LocalCluster:
    home = settings.local_kafka_home().resolve()
    # A data folder once started with --secure stays secured: its users live in its metadata.
    secure = secure or (ClusterLayout(home).security_home / "users.json").exists()
    layout = ClusterLayout(home, settings.kafka_port, settings.kafka_nodes, secure=secure)
    return LocalCluster(fetch_distribution(settings.kafka_version), layout)


SecureOpt = Annotated[bool, typer.Option(
    "--secure", help="a SASL_SSL listener with SCRAM users and ACLs (prints the settings to use)")]


@kafka_app.command("up")
def kafka_up(nodes: NodesOpt = None, port: PortOpt = None, secure: SecureOpt = False) -> None:
    """Fetch Kafka if needed and start the local cluster; print its address and log files."""
    settings = _settings(kafka_nodes=nodes, kafka_port=port)
    try:
        cluster = _cluster(settings, secure)
        cluster.start()
        create_topics(cluster.bootstrap, settings.topic_prefix, settings.topic_partitions,
                      min(settings.replication_factor, settings.kafka_nodes),
                      cluster.client_options("admin"))
        cluster.grant(settings.topic_prefix, settings.app_id)
    except KafkaSetupError as exc:
        raise _fail(str(exc)) from None
    out.print(f"Kafka {settings.kafka_version} is up: bootstrap [bold]{cluster.bootstrap}[/bold]")
    for node in cluster.layout.all_nodes:
        out.print(f"  node {node.node_id}: 127.0.0.1:{node.port}  log: {node.log}", highlight=False)
    if cluster.material is not None:
        material = cluster.material
        out.print("SASL_SSL with SCRAM users (admin, headwater, producer) and ACLs; as headwater:",
                  highlight=False)
        for name, value in (("KAFKA_BOOTSTRAP", cluster.bootstrap),
                            ("KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
                            ("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
                            ("KAFKA_USERNAME", "headwater"),
                            ("KAFKA_PASSWORD", material.passwords["headwater"]),
                            ("KAFKA_SSL_CAFILE", str(material.ca_pem))):
            out.print(f"  export HEADWATER_{name}={value}", highlight=False, soft_wrap=True)


@kafka_app.command("down")
def kafka_down(nodes: NodesOpt = None, port: PortOpt = None) -> None:
    """Stop the local cluster (controlled shutdown)."""
    settings = _settings(kafka_nodes=nodes, kafka_port=port)
    try:
        cluster = _cluster(settings)
    except KafkaSetupError as exc:
        raise _fail(str(exc)) from None
    cluster.stop()
    out.print("Kafka is down")


@kafka_app.command("status")
def kafka_status(nodes: NodesOpt = None, port: PortOpt = None) -> None:
    """Show each local node's process and whether the cluster answers metadata."""
    settings = _settings(kafka_nodes=nodes, kafka_port=port)
    try:
        cluster = _cluster(settings)
    except KafkaSetupError as exc:
        raise _fail(str(exc)) from None
    table = Table("node", "address", "pid", "log")
    running = 0
    for node, pid in cluster.status():
        running += pid is not None
        table.add_row(str(node.node_id), f"127.0.0.1:{node.port}", str(pid or "-"), str(node.log))
    out.print(table)
    if running == 0:
        raise _fail("the local Kafka is not running: start it with `headwater kafka up`", code=1)
    try:
        wait_for_metadata(cluster.bootstrap, expect_brokers=running, timeout_s=5,
                          client_options=cluster.client_options())
    except KafkaSetupError as exc:
        raise _fail(str(exc), code=1) from None
    out.print(f"answering metadata at {cluster.bootstrap}")


@kafka_app.command("fetch")
def kafka_fetch() -> None:
    """Fetch the broker's jars from Maven Central into the cache (done by `up` when needed)."""
    settings = _settings()
    try:
        dist = fetch_distribution(settings.kafka_version)
    except KafkaSetupError as exc:
        raise _fail(str(exc)) from None
    out.print(f"Kafka {dist.version}: {dist.libs_dir}", highlight=False)


@app.command("topics")
def topics() -> None:
    """Create the design's topics (idempotent) on the configured broker."""
    settings = _settings()
    if not settings.kafka_bootstrap:
        raise _fail("set HEADWATER_KAFKA_BOOTSTRAP, or use `headwater up` / `headwater kafka up`")
    created = create_topics(settings.kafka_bootstrap, settings.topic_prefix,
                            settings.topic_partitions, settings.replication_factor,
                            settings.kafka_client_options())
    out.print(f"{len(created)} created; topics: {', '.join(topic_names(settings.topic_prefix).values())}")


@app.command("up")
def up(
    examples: Annotated[Path | None, typer.Option(
        "--examples", help="folder of definitions to deploy (default: the bundled examples)")] = None,
) -> None:
    """Start everything: the local broker (unless one is configured), topics, worker and API."""
    from headwater.stack import Stack

    if examples is not None and not examples.is_dir():
        raise _fail(f"--examples {examples}: not a folder")
    try:
        code = Stack(_settings(examples_dir=examples), say=lambda m: out.print(f"[cyan]headwater[/cyan] {m}", highlight=False)).run()
    except KafkaSetupError as exc:
        raise _fail(str(exc)) from None
    raise typer.Exit(code)


def _stop_while_starting(signum: int, frame: object) -> None:
    raise SystemExit(0)


@app.command("worker")
def worker() -> None:
    """Run one engine worker (a Faust worker) against the configured broker."""
    # Until Faust installs its own handlers (importing it takes seconds on a loaded machine),
    # a SIGTERM from a supervisor is a clean stop, not a kill by signal.
    signal.signal(signal.SIGTERM, _stop_while_starting)
    from streams.app import AppConfig, run_worker
    from streams.runtime.faults import parse_crash_on

    settings = _settings()
    if not settings.kafka_bootstrap:
        raise _fail("set HEADWATER_KAFKA_BOOTSTRAP (or use `headwater up`)")
    config = AppConfig(app_id=settings.app_id, bootstrap=settings.kafka_bootstrap,
                       topics=topic_names(settings.topic_prefix),
                       data_dir=(settings.data_dir / "worker").resolve(),
                       partitions=settings.topic_partitions,
                       web_port=settings.worker_web_port or 6066,
                       web_enabled=settings.worker_web_port != 0,
                       http_allow=tuple(settings.http_allow), secrets=_secrets(settings),
                       alert_channels=_alert_channels(settings),
                       kafka_options=settings.kafka_client_options(),
                       crash_deaths=settings.crash_quarantine_deaths,
                       crash_on=parse_crash_on(settings.fault_crash_on),
                       static_membership=settings.static_membership,
                       session_timeout_ms=settings.session_timeout_ms)
    config.data_dir.parent.mkdir(parents=True, exist_ok=True)  # Faust makes only the last level
    sys.argv = [sys.argv[0]]  # faust's Worker parses argv; ours are already consumed
    run_worker(config, loglevel=settings.log_level)


def _alert_channels(settings: Settings) -> dict[str, Any]:
    from pydantic import ValidationError

    from streams.workers.alert_sender import parse_channels

    if settings.alert_channels is None:
        return {}
    try:
        return parse_channels(settings.alert_channels.get_secret_value())
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in exc.errors())
        raise _fail(f"HEADWATER_ALERT_CHANNELS: {problems}") from None


def _alert_conditions(settings: Settings) -> list[Any]:
    from projections.watch import ConditionsError, parse_conditions

    if settings.alert_conditions is None:
        return []
    defined = _alert_channels(settings).keys() if settings.alert_channels is not None else None
    try:
        return parse_conditions(settings.alert_conditions, defined)
    except ConditionsError as exc:
        raise _fail("; ".join(f"HEADWATER_ALERT_CONDITIONS{'' if p.path.startswith('[') else ' '}"
                              f"{p.path}: {p.message}" for p in exc.problems)) from None


def _secrets(settings: Settings) -> SecretStore:
    from streams.workers.secrets import SecretStore

    try:
        values = settings.secret_values()
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if settings.secrets_dir is not None and not settings.secrets_dir.is_dir():
        raise _fail(f"HEADWATER_SECRETS_DIR {settings.secrets_dir} is not a folder")
    return SecretStore(values, settings.secrets_dir)


@app.command("stub")
def stub() -> None:
    """Stand-ins for the examples' outside services (inventory, shipping, payments): `up`
    starts it so that the demo runs to completion on one machine."""
    from headwater.demo_stub import run_stub

    settings = _settings()
    if not settings.kafka_bootstrap:
        raise _fail("set HEADWATER_KAFKA_BOOTSTRAP (or use `headwater up`)")
    if not settings.demo_stub_port:
        raise _fail("HEADWATER_DEMO_STUB_PORT is 0: the stub is off")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_stub(settings.kafka_bootstrap, settings.topic_prefix,
                             settings.demo_stub_port, settings.kafka_client_options()))


@app.command("api")
def api() -> None:
    """Serve the HTTP API and the web UI."""
    import uvicorn

    from projections.api import create_api
    from projections.auth import TokenTable
    from projections.store import RocksStore
    from projections.webhooks import WebhookVerifier

    settings = _settings()
    if not settings.kafka_bootstrap:
        raise _fail("set HEADWATER_KAFKA_BOOTSTRAP (or use `headwater up`)")
    conditions = _alert_conditions(settings)  # a mistake stops here, before anything opens
    # Views persist next to their Kafka offsets, so a restart resumes instead of replaying the log.
    store = RocksStore((settings.data_dir / "views").resolve())
    try:
        tokens = TokenTable.from_text(_secret(settings.api_tokens))
        webhooks = WebhookVerifier.from_text(_secret(settings.webhook_secrets),
                                             _secret(settings.webhook_secret))
    except ValueError as exc:
        raise _fail(f"HEADWATER_{exc}") from None
    if tokens.open and settings.api_host not in ("127.0.0.1", "localhost", "::1"):
        err.print(f"[yellow]warning:[/yellow] no API tokens are set and the API listens on "
                  f"{settings.api_host}: anyone who reaches it is an admin", highlight=False)
    from headwater.bundled import examples_dir

    application = create_api(settings.kafka_bootstrap, topic_names(settings.topic_prefix),
                             store=store, tokens=tokens, webhooks=webhooks,
                             body_limit=settings.api_body_limit,
                             kafka_options=settings.kafka_client_options(),
                             templates_dir=settings.examples_dir or examples_dir(),
                             alert_conditions=conditions,
                             alert_check_s=settings.alert_check_s)
    uvicorn.run(application, host=settings.api_host, port=settings.api_port,
                log_level=settings.log_level.replace("warn", "warning").replace("warninging", "warning"))


@app.command("validate")
def validate(
    files: Annotated[list[Path], typer.Argument(exists=True, help="YAML or JSON definitions")],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Validate workflow and rule definitions; print every problem with its JSON path."""
    if not _report(files, as_json):
        raise typer.Exit(1)


@app.command("deploy")
def deploy(
    files: Annotated[list[Path], typer.Argument(exists=True, help="YAML or JSON definitions")],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    by: Annotated[str | None, typer.Option(help="who publishes (recorded on the event)")] = None,
    reason: Annotated[str, typer.Option(help="why: a change note kept in the history")] = "",
) -> None:
    """Validate definitions and, when all are valid, publish them to the engine."""
    from headwater.publish import Publisher, validate_files, version_conflicts

    if not _report(files, as_json, quiet_when_valid=True):
        raise _fail("nothing was published: fix the errors above", code=1)
    settings = _settings()
    if not settings.kafka_bootstrap:
        raise _fail("set HEADWATER_KAFKA_BOOTSTRAP (the broker `headwater up` prints)")
    definitions = [r.definition for _, r in validate_files(files) if r.definition is not None]

    async def publish() -> list[str] | str:
        bootstrap, options = settings.kafka_bootstrap or "", settings.kafka_client_options()
        conflicts = await version_conflicts(bootstrap, settings.topic_prefix, definitions, options)
        if conflicts:
            return "; ".join(conflicts)
        async with Publisher(bootstrap, settings.topic_prefix, options) as publisher:
            return await publisher.definitions(definitions, by, reason)

    keys = asyncio.run(publish())
    if isinstance(keys, str):
        raise _fail(f"nothing was published: {keys}")
    if as_json:
        out.print_json(orjson.dumps({"published": keys}).decode())
    else:
        for key in keys:
            out.print(f"[green]published[/green] {escape(key)}")


@app.command("run")
def run(
    workflow: Annotated[str, typer.Argument(help="workflow id")],
    input_json: Annotated[str, typer.Option("--input", "-i", help="input as a JSON object")] = "{}",
    version: Annotated[str | None, typer.Option(help="exact version or range, e.g. ^1.2")] = None,
    execution_id: Annotated[str | None, typer.Option("--id", help="execution id (idempotency)")] = None,
    priority: Annotated[str, typer.Option(
        help="low, normal, high or critical: its turn at a concurrency limit")] = "normal",
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    wait: Annotated[float | None, typer.Option(
        "--wait", help="then wait up to this many seconds for it to finish (through the API); "
                       "exit 1 unless it completed")] = None,
) -> None:
    """Start an execution of WORKFLOW; print its execution id.

    The definitions are read first: an unknown or paused workflow, a version (range) with no
    active match, or an input its declared inputs refuse fails with the reason (exit 2)
    instead of a start the engine refuses.
    """
    from headwater.publish import Publisher, read_definition_view
    from projections.views.bodies import read_body
    from projections.views.definitions import read_definition, start_version
    from projections.write_api import input_refusal

    try:
        payload = orjson.loads(input_json)
    except orjson.JSONDecodeError as exc:
        raise _fail(f"--input is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise _fail("--input must be a JSON object, e.g. '{\"name\": \"Ada\"}'")
    if priority not in ("low", "normal", "high", "critical"):
        raise _fail(f"--priority: {priority!r} is not one of low, normal, high, critical")
    settings = _settings()
    if not settings.kafka_bootstrap:
        raise _fail("set HEADWATER_KAFKA_BOOTSTRAP (the broker `headwater up` prints)")

    async def start() -> str | tuple[int, str]:
        bootstrap, options = settings.kafka_bootstrap or "", settings.kafka_client_options()
        view = await read_definition_view(bootstrap, settings.topic_prefix, "workflow", workflow,
                                          options)
        resolved = start_version(read_definition(view, "workflow", workflow), workflow, version)
        if isinstance(resolved, tuple):
            return resolved
        refusal = input_refusal(read_body(view, "workflow", workflow, resolved), payload)
        if refusal:
            return 422, "; ".join(f"{p.path}: {p.message}" for p in refusal)
        async with Publisher(bootstrap, settings.topic_prefix, options) as publisher:
            return await publisher.start(workflow, payload, version, execution_id,
                                         priority=priority)

    started = asyncio.run(start())
    if isinstance(started, tuple):
        raise _fail(f"not started: {started[1]}")
    summary = None
    if wait is not None:
        from headwater.cli_ops import wait_finished

        summary = wait_finished(started, wait)
    if as_json:
        out.print_json(orjson.dumps({"execution_id": started, "summary": summary}).decode()
                       if wait is not None else orjson.dumps({"execution_id": started}).decode())
    else:
        out.print(started)
    if wait is not None and (summary is None or summary["status"] != "completed"):
        state = "did not finish in time" if summary is None else (
            f"{summary['status']}: {summary.get('error') or ''}")
        raise _fail(f"execution {started} {state}", code=1)


def _report(files: list[Path], as_json: bool, quiet_when_valid: bool = False) -> bool:
    """Print each file's problems; True when none has an error."""
    from headwater.publish import validate_files

    results = [
        {"file": str(file),
         "errors": [(p.path, p.code, p.message) for p in report.errors],
         "warnings": [(p.path, p.code, p.message) for p in report.warnings]}
        for file, report in validate_files(files)
    ]
    ok = not any(r["errors"] for r in results)
    if as_json and not (ok and quiet_when_valid):
        out.print_json(orjson.dumps(results).decode())
    elif not as_json:
        for result in results:
            if ok and quiet_when_valid and not result["warnings"]:
                continue
            mark = "[red]invalid[/red]" if result["errors"] else "[green]valid[/green]"
            out.print(f"{mark} {escape(str(result['file']))}")
            for level, problems in (("error", result["errors"]), ("warning", result["warnings"])):
                for path, code, message in problems:
                    out.print(escape(f"  {level}: {path} [{code}] {message}"), highlight=False)
    return ok


@app.command("schema")
def schema(
    kind: Annotated[str, typer.Argument(help="workflow or rule")] = "workflow",
) -> None:
    """Print the JSON Schema of workflow or rule definitions (for editors and the designer)."""
    from schemas.validation import definition_json_schema

    if kind not in ("workflow", "rule"):
        raise _fail(f"kind must be 'workflow' or 'rule', not {kind!r}")
    sys.stdout.write(orjson.dumps(definition_json_schema(kind), option=orjson.OPT_INDENT_2).decode() + "\n")


@app.command("openapi")
def openapi() -> None:
    """Print the HTTP API's OpenAPI document (the web UI's types are generated from it)."""
    from projections.api import create_api

    # No broker is contacted: the document is built from the routes alone.
    document = create_api("127.0.0.1:1", topic_names("hw."), project=False).openapi()
    sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2)
                     .decode() + "\n")


@app.command("settings")
def show_settings() -> None:
    """Print the effective settings (secrets masked) as JSON."""
    out.print_json(orjson.dumps(_settings().model_dump(mode="json")).decode())


def main() -> None:
    """Entry point of the `headwater` script."""
    import logging

    from aiokafka.errors import KafkaConnectionError
    from pydantic import ValidationError

    from headwater.kafka_errors import KafkaLogTail, connection_failure

    tail = KafkaLogTail()
    logging.getLogger("aiokafka").addHandler(tail)
    try:
        app()
    except KafkaConnectionError as exc:
        message = connection_failure(Settings(), exc, tail.last)
        err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except ValidationError as exc:
        # the settings model refused an environment variable: name it in one line
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        err.print(f"[red]error:[/red] {escape(where)}: {escape(first['msg'])}", highlight=False,
                  soft_wrap=True)
        sys.exit(2)
