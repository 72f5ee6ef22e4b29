import { useEffect, useMemo, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router";

import { api, unwrap } from "../../api/client";
import { useQuery } from "../../api/hooks";
import type { Schemas } from "../../api/types";
import { Can } from "../../auth/AuthContext";
import { Page } from "../../components/Page";
import { Async, ErrorBanner } from "../../components/states";
import { useToast } from "../../components/Toasts";
import type { WorkflowDef } from "../../graph/steps";
import { MappingTable, MigrationItems } from "./MigrationParts";
import {
  chunks, defaultMapping, mappingProblems, requestMapping, versionSteps, type Mapping,
} from "./migration";

type MigrateRequest = Schemas["MigrateRequest"];
type MigrationItem = Schemas["MigrationItem"];
type Status = NonNullable<MigrateRequest["status"]>;

/** Executions looked at per dry-run page; the migration itself sends at most this many ids a
 * request (the API's limit is 1,000). */
const PAGE = 100;
const STATUSES: Status[] = ["running", "waiting", "queued"];

interface DryRun { key: string; items: MigrationItem[]; next: string | null }

/** Camunda-style process instance migration: pick the running version and the target,
 * map the steps, look at a dry run per execution, then migrate those that map. */
export default function MigratePage() {
  const { workflowId = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const record = useQuery(`workflow:${workflowId}`, (signal) =>
    unwrap(api.GET("/workflows/{workflow_id}", { params: { path: { workflow_id: workflowId } }, signal })));
  return (
    <Page title="Migrate running executions" sub={<>Move running, waiting and queued executions of{" "}
      <span className="mono">{workflowId}</span> to another version, with a step mapping</>}
      actions={<Link className="btn" to={`/executions?workflow_id=${encodeURIComponent(workflowId)}`}>Executions</Link>}>
      <Async query={record} what="Loading the workflow">
        {(w) => {
          const versions = w.versions.map((v) => v.version);
          const to = params.get("to") ?? w.latest ?? versions[versions.length - 1] ?? "";
          const from = params.get("from") ?? [...versions].reverse().find((v) => v !== to) ?? to;
          const choose = (key: "from" | "to", value: string) => {
            const next = new URLSearchParams(params);
            next.set(key, value);
            setParams(next, { replace: true });
          };
          return (
            <>
              <div className="card filters">
                <label className="field">Running version (from)
                  <select value={from} onChange={(e) => choose("from", e.target.value)}>
                    {versions.map((v) => <option key={v} value={v}>{v}</option>)}
                  </select>
                </label>
                <label className="field">Target version (to)
                  <select value={to} onChange={(e) => choose("to", e.target.value)}>
                    {versions.map((v) => <option key={v} value={v}>{v} ({w.versions.find((x) => x.version === v)?.status})</option>)}
                  </select>
                </label>
              </div>
              {from === to
                ? <div className="banner banner-info">Choose two different versions: executions already on {to} stay as they are.</div>
                : <Migration key={`${from}>${to}`} workflowId={workflowId} from={from} to={to} />}
            </>
          );
        }}
      </Async>
    </Page>
  );
}

function Migration({ workflowId, from, to }: { workflowId: string; from: string; to: string }) {
  const notify = useToast();
  const bodies = useQuery(`bodies:${workflowId}:${from}:${to}`, (signal) => Promise.all([from, to].map(async (version) => {
    const out = await unwrap(api.GET("/definitions/{kind}/{definition_id}/versions/{version}", {
      params: { path: { kind: "workflow", definition_id: workflowId, version } }, signal }));
    return versionSteps(out.definition as unknown as WorkflowDef);
  })));
  const [source, target] = bodies.data ?? [[], []];
  const [mapping, setMapping] = useState<Mapping | null>(null);
  useEffect(() => {
    if (bodies.data) setMapping(defaultMapping(bodies.data[0], bodies.data[1]));
  }, [bodies.data]);
  const [status, setStatus] = useState<Status | "">("");
  const [dry, setDry] = useState<DryRun | null>(null);
  const [outcome, setOutcome] = useState<MigrationItem[] | null>(null);
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const sent = useMemo(() => requestMapping(mapping ?? {}), [mapping]);
  const problems = useMemo(() => mappingProblems(source, target, mapping ?? {}, to), [source, target, mapping, to]);
  // A dry run answers one request: change the mapping or the filter and it is out of date.
  const key = JSON.stringify({ sent, status });
  const current = dry?.key === key ? dry : null;
  const migratable = current?.items.filter((i) => i.migratable) ?? [];

  const body = (extra: Partial<MigrateRequest>): MigrateRequest => ({
    workflow_id: workflowId, to_version: to, mapping: sent, dry_run: true, limit: PAGE, ...extra,
  });
  const run = async (work: () => Promise<void>) => {
    setPending(true);
    setError(null);
    try {
      await work();
    } catch (e) {
      setError(e);
    } finally {
      setPending(false);
    }
  };
  const dryRun = (more: boolean) => run(async () => {
    const result = await unwrap(api.POST("/executions/migrate", { body: body({
      from_version: from, status: status || null, cursor: more ? current?.next ?? null : null }) }));
    setOutcome(null);
    setDry({ key, items: [...(more && current ? current.items : []), ...result.items], next: result.next_cursor ?? null });
  });
  const migrate = () => run(async () => {
    const ids = migratable.map((i) => i.execution_id);
    const items: MigrationItem[] = [];
    for (const part of chunks(ids, PAGE)) {
      const result = await unwrap(api.POST("/executions/migrate", { body: body({
        execution_ids: part, dry_run: false, limit: part.length }) }));
      items.push(...result.items);
    }
    setOutcome(items);
    setDry(null);
    const count = items.filter((i) => i.sent).length;
    notify(`Migration to ${to} sent for ${count} execution${count === 1 ? "" : "s"}`, "ok");
  });

  if (!bodies.data || mapping === null) return <Async query={bodies} what="Loading both versions">{() => null}</Async>;
  return (
    <>
      <div className="card" style={{ marginBottom: "var(--s3)" }}>
        <div className="card-head"><h2>Step mapping {from} → {to}</h2>
          <button className="btn btn-sm btn-ghost" onClick={() => setMapping(defaultMapping(source, target))}>Reset to same ids</button></div>
        <MappingTable source={source} target={target} mapping={mapping} problems={problems}
          onChange={(step, value) => setMapping({ ...mapping, [step]: value })} />
        {problems.length > 0 && (
          <div className="banner banner-info" role="status" style={{ margin: "var(--s3)" }}>
            {problems.length} mapping problem{problems.length === 1 ? "" : "s"}: executions stopped on those steps will be refused
            (the dry run says which).
          </div>
        )}
      </div>
      <div className="card card-body stack">
        <div className="row">
          <label className="field">Status
            <select value={status} onChange={(e) => setStatus(e.target.value as Status | "")}>
              <option value="">running, waiting or queued</option>
              {STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
            </select>
          </label>
          <span className="spacer" />
          <Can right="run">
            <button className="btn" disabled={pending} onClick={() => dryRun(false)}>Dry run</button>
            {current && (
              <button className="btn btn-primary" disabled={pending || migratable.length === 0} onClick={migrate}>
                Migrate {migratable.length} execution{migratable.length === 1 ? "" : "s"} to {to}
              </button>
            )}
          </Can>
        </div>
        <ErrorBanner error={error} />
        {dry && !current && <div className="banner banner-info">The mapping or the filter changed: run the dry run again.</div>}
        {current && (
          <>
            <div className="banner banner-info" data-testid="migration-dry-run">
              Dry run of {current.items.length} execution{current.items.length === 1 ? "" : "s"} on {from}:{" "}
              {migratable.length} would migrate, {current.items.length - migratable.length} would be refused.
              {current.next && " More executions match: look at the next page before migrating them."}
            </div>
            {current.items.length > 0 && <MigrationItems items={current.items} sentRun={false} />}
            {current.next && <button className="btn btn-sm" disabled={pending} onClick={() => dryRun(true)}>Next {PAGE} executions</button>}
          </>
        )}
        {outcome && (
          <>
            <div className="banner banner-ok" data-testid="migration-outcome">
              Migration sent for {outcome.filter((i) => i.sent).length} of {outcome.length} execution{outcome.length === 1 ? "" : "s"}.
              The engine checks each again on its newest state; a refusal there shows in the execution's history.
            </div>
            <MigrationItems items={outcome} sentRun />
          </>
        )}
      </div>
    </>
  );
}
