import { Link } from "react-router";

import type { Schemas } from "../../api/types";
import { StatusBadge } from "../../components/StatusBadge";
import type { Mapping, MappingProblem, VersionStep } from "./migration";

type MigrationItem = Schemas["MigrationItem"];

/** The step mapping: one row per step of the running version, a choice of target step each,
 * and what the mapping alone will refuse beside it. */
export function MappingTable({ source, target, mapping, problems, onChange }: {
  source: VersionStep[]; target: VersionStep[]; mapping: Mapping; problems: MappingProblem[];
  onChange: (step: string, to: string) => void;
}) {
  const byStep = new Map<string, MappingProblem[]>();
  problems.forEach((p) => byStep.set(p.step, [...(byStep.get(p.step) ?? []), p]));
  return (
    <table className="table" aria-label="Step mapping">
      <thead><tr><th>Step in the running version</th><th>Kind</th><th>Becomes</th><th>Problems</th></tr></thead>
      <tbody>
        {source.map((s) => {
          const found = byStep.get(s.id) ?? [];
          return (
            <tr key={s.id} data-step={s.id}>
              <td className="mono">{s.id}{s.scope && <span className="faint small"> in {s.scope}</span>}</td>
              <td className="muted">{s.kind}</td>
              <td>
                <select aria-label={`Target of ${s.id}`} value={mapping[s.id] ?? ""} aria-invalid={found.length > 0}
                  onChange={(e) => onChange(s.id, e.target.value)}>
                  <option value="">(not mapped)</option>
                  {target.map((t) => <option key={t.id} value={t.id}>{t.id} ({t.kind})</option>)}
                </select>
              </td>
              <td>{found.map((p) => (
                <div key={p.code} className="field-error" data-code={p.code}>{p.message}</div>
              ))}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** Per execution, what the dry run (or the migration) said: would it move, and every reason
 * it would not, as the API gave them. */
export function MigrationItems({ items, sentRun }: { items: MigrationItem[]; sentRun: boolean }) {
  return (
    <table className="table" aria-label={sentRun ? "Migration outcome" : "Dry run result"}>
      <thead><tr><th>Execution</th><th>Version</th><th>Status</th><th>{sentRun ? "Outcome" : "Verdict"}</th><th>Why not</th></tr></thead>
      <tbody>
        {items.map((item) => (
          <tr key={item.execution_id} data-execution={item.execution_id}>
            <td><Link className="mono" to={`/executions/${encodeURIComponent(item.execution_id)}`}>{item.execution_id}</Link></td>
            <td className="mono">{item.from_version ?? ""}</td>
            <td>{item.status && <StatusBadge status={item.status} />}</td>
            <td>{verdict(item, sentRun)}</td>
            <td>{item.problems.map((p, i) => (
              <div key={i} className="small"><code>{p.code}</code>{p.step && <> on <code>{p.step}</code></>}: {p.message}</div>
            ))}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function verdict(item: MigrationItem, sentRun: boolean) {
  if (sentRun) return item.sent ? <span className="badge badge-ok">sent</span> : <span className="badge badge-danger">refused</span>;
  return item.migratable ? <span className="badge badge-ok">would migrate</span> : <span className="badge badge-danger">would be refused</span>;
}
