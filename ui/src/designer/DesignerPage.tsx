import { ReactFlowProvider, useReactFlow } from "@xyflow/react";
import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useLoaderData, useLocation, useNavigate, useParams, useSearchParams } from "react-router";

import { describe } from "../api/errors";
import { useQuery, useStream } from "../api/hooks";
import { Can, useAuth } from "../auth/AuthContext";
import { ErrorState, Loading } from "../components/states";
import { useToast } from "../components/Toasts";
import type { Overlay, RunInfo } from "../graph/convert";
import { addStep, newStep, pasteSteps, removeSteps, setPositions, updateStep, updateWorkflow } from "../graph/edit";
import { autoLayout } from "../graph/elkLayout";
import { hasLayout, placeSteps, type StepDef, type WorkflowDef } from "../graph/steps";
import { byStep, placeProblems, type PlacedProblem } from "../graph/problems";
import { foldEvents, fromTestRun, type StepEvent } from "../graph/runs";
import {
  actionTypes, publish, setStatus, startExecution, testRun, validate,
  type TestRun, type Validation, waitForExecution,
} from "./api";
import { ProblemsList, TestPanel } from "./BottomPanel";
import { Canvas } from "./Canvas";
import { openWorkflow, type Opened } from "./open";
import { Palette, type PaletteItem } from "./Palette";
import { usePinnedMocks } from "./usePinnedMocks";
import { useHistory } from "./useHistory";
import "./designer.css";

// The properties panel carries the form library, its JSON Schema validator and the
// definition schema: it loads beside the canvas, not before it.
const PropertiesPanel = lazy(() => import("./PropertiesPanel").then((m) => ({ default: m.PropertiesPanel })));
const loadYaml = () => import("yaml").then((m) => m.default);

const BLANK: WorkflowDef = {
  id: "new-workflow", name: "New workflow", version: "1.0.0",
  steps: [{ id: "start", type: "action", action: "log", with: { message: "Hello" } }],
  layout: { nodes: { start: { x: 0, y: 0 } } },
};

function bump(version: string): string {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  return m ? `${m[1]}.${m[2]}.${Number(m[3]) + 1}` : "1.0.0";
}

/** The version a save writes: versions are immutable once published, so a draft is saved as
 * the next `-draft.N` and a publish as the release after the current one. */
export function nextVersion(version: string, taken: Record<string, string>, mode: "draft" | "publish"): string {
  const draft = /^(\d+\.\d+\.\d+)-draft\.(\d+)$/.exec(version);
  const release = draft ? draft[1] : bump(version);
  if (!(version in taken)) return mode === "publish" && draft ? draft[1] : version;
  if (mode === "publish") return taken[release] ? bump(release) : release;
  let n = draft ? Number(draft[2]) + 1 : 1;
  while (`${release}-draft.${n}` in taken) n++;
  return `${release}-draft.${n}`;
}

/** Live validation: the API's verdict on the definition, debounced, newest answer wins. The
 * verdict asked for while the workflow was opened (`first`, for the same steps) is the first
 * one, so opening draws once; without it the first request is not debounced. */
function useValidation(def: WorkflowDef, first?: { steps: WorkflowDef["steps"]; answer: Validation; ms: number }, ms = 80) {
  const [state, setState] = useState<{ problems: PlacedProblem[]; pending: boolean; seq: number; tookMs: number }>(() =>
    first && first.steps === def.steps
      ? { problems: placeProblems(def, first.answer.problems, first.answer.warnings), pending: false, seq: 1, tookMs: first.ms }
      : { problems: [], pending: true, seq: 0, tookMs: 0 });
  const opening = useRef(true);
  useEffect(() => {
    const seeded = opening.current && first?.steps === def.steps;
    const delay = opening.current ? 0 : ms;
    opening.current = false;
    if (seeded) return;
    const controller = new AbortController();
    const started = performance.now();
    setState((s) => ({ ...s, pending: true }));
    const timer = setTimeout(() => {
      validate(def, controller.signal).then((r) => {
        setState((s) => ({ problems: placeProblems(def, r.problems, r.warnings), pending: false, seq: s.seq + 1,
                           tookMs: Math.round(performance.now() - started) }));
      }, () => undefined);
    }, delay);
    return () => { clearTimeout(timer); controller.abort(); };
  }, [def, ms, first]);
  return state;
}

function Designer({ initial, published, validation: opened }: {
  initial: WorkflowDef; published: Record<string, string>; validation?: { answer: Validation; ms: number };
}) {
  const history = useHistory<WorkflowDef>(initial);
  const def = history.value;
  const flow = useReactFlow();
  const notify = useToast();
  const navigate = useNavigate();
  const { can } = useAuth();
  const readOnly = !can("edit");
  const [selected, setSelectedState] = useState<string[]>([]);
  // React Flow reports the selection after every change of the nodes: only a different one is
  // a change here (an equal new array would redraw the canvas, and so on).
  const setSelected = useCallback((ids: string[]) => {
    setSelectedState((current) => (current.length === ids.length && current.every((x, i) => x === ids[i]) ? current : ids));
  }, []);
  const [versions, setVersions] = useState(published);
  const [mocks, setMocks] = usePinnedMocks(def.id, Object.keys(versions).length > 0, (m) => notify(m, "error"));
  const [run, setRun] = useState<{ overlay: Map<string, RunInfo>; result?: TestRun; error?: string; running: boolean }>(
    { overlay: new Map(), running: false });
  const [execution, setExecution] = useState<string | null>(null);
  const [tab, setTab] = useState<"problems" | "test">("problems");
  const clipboard = useRef<StepDef[]>([]);
  const lastEdit = useRef<{ key: string; at: number }>({ key: "", at: 0 });
  const [first] = useState(() => (opened ? { steps: initial.steps, ...opened } : undefined));
  const validation = useValidation(def, first);
  const actions = useQuery("actions", actionTypes);

  /** An edit; typing into one field within a second makes one undo step, not one per key. */
  const edit = useCallback((next: WorkflowDef, coalesce?: string) => {
    const now = Date.now();
    if (coalesce && lastEdit.current.key === coalesce && now - lastEdit.current.at < 1000) history.replace(next);
    else history.push(next);
    lastEdit.current = { key: coalesce ?? "", at: now };
  }, [history]);

  // The properties panel (the form library and the schema, 420 kB) comes once the canvas is
  // up and the first verdict is in, so it does not hold the opening back (at most 1.5 s).
  const [panel, setPanel] = useState(false);
  useEffect(() => {
    if (panel) return;
    if (validation.seq > 0 && window.requestIdleCallback) {  // once the canvas has drawn too
      const idle = window.requestIdleCallback(() => setPanel(true), { timeout: 500 });
      return () => window.cancelIdleCallback(idle);
    }
    const timer = setTimeout(() => setPanel(true), validation.seq > 0 ? 100 : 1500);
    return () => clearTimeout(timer);
  }, [panel, validation.seq]);
  const problemsByStep = useMemo(() => byStep(validation.problems), [validation.problems]);
  const overlay: Overlay = useMemo(() => ({
    problems: problemsByStep, run: run.overlay, pinned: new Set(Object.keys(mocks)), selected: new Set(selected),
  }), [problemsByStep, run.overlay, mocks, selected]);
  const placed = useMemo(() => placeSteps(def), [def]);
  const current = selected.length === 1 ? placed.get(selected[0])?.step : undefined;

  useStream(execution ? `/executions/${encodeURIComponent(execution)}/events` : null, (event) => {
    if (event.event === "end") return;
    try {
      const data = JSON.parse(event.data) as StepEvent;
      if (data && typeof data === "object" && data.type) setRun((r) => ({ ...r, overlay: foldEvents(r.overlay, [data]) }));
    } catch {
      /* a heartbeat or a frame without JSON */
    }
  });

  const layout = useCallback(async () => {
    const positions = await autoLayout(def);
    edit(setPositions(def, positions));
    setTimeout(() => flow.fitView({ duration: 200 }), 50);
  }, [def, edit, flow]);

  const add = useCallback((item: PaletteItem) => {
    // keyboard / click: add below everything in the top scope
    const bottom = Math.max(0, ...def.steps.map((s) => (def.layout?.nodes?.[s.id]?.y ?? 0) + 120));
    const step = newStep(def, item.kind, item.action);
    edit(addStep(def, "", step, { x: 0, y: bottom }));
    setSelected([step.id]);
  }, [def, edit]);

  const save = useCallback(async (mode: "draft" | "publish") => {
    let body: WorkflowDef = { ...def, layout: { ...def.layout, viewport: flow.getViewport() } };
    body = { ...body, version: nextVersion(body.version ?? "1.0.0", versions, mode), status: mode === "draft" ? "draft" : "active" };
    try {
      const out = await publish(body);
      history.replace(body);
      setVersions((v) => ({ ...v, [out.version]: out.status }));
      notify(mode === "draft" ? `Draft ${out.version} saved` : `Published ${out.version} (active)`, "ok");
      // A new workflow gets its own address. What was just saved goes along, so the page does
      // not read it back (the views may not have it yet: Kafka lies between).
      const saved = { definition: body, published: { ...versions, [out.version]: out.status } };
      if (!location.pathname.endsWith(`/designer/${body.id}`)) {
        navigate(`/designer/${encodeURIComponent(body.id)}?version=${out.version}`, { replace: true, state: { saved } });
      }
    } catch (e) {
      notify(describe(e), "error");
    }
  }, [def, flow, versions, history, notify, navigate]);

  const changeStatus = useCallback(async (status: "active" | "paused") => {
    try {
      await setStatus(def.id, def.version ?? "1.0.0", status);
      setVersions((v) => ({ ...v, [def.version ?? "1.0.0"]: status }));
      notify(`${def.version} ${status === "active" ? "activated" : "paused"}`, "ok");
    } catch (e) {
      notify(describe(e), "error");
    }
  }, [def, notify]);

  const runTest = useCallback(async (input: Record<string, unknown>, signals: Record<string, unknown>) => {
    setExecution(null);
    setRun((r) => ({ ...r, running: true, error: undefined }));
    try {
      const result = await testRun(def, input, mocks, signals);
      setRun({ overlay: fromTestRun(result.steps), result, running: false });
    } catch (e) {
      setRun({ overlay: new Map(), running: false, error: describe(e) });
    }
  }, [def, mocks]);

  const runLive = useCallback(async () => {
    try {
      const started = await startExecution(def.id, def.version ?? "1.0.0", {});
      setRun({ overlay: new Map(), running: false });
      // The execution exists once the engine started it and the views folded that: follow it then.
      await waitForExecution(started.execution_id);
      setExecution(started.execution_id);
      notify(`Execution ${started.execution_id} started`, "ok");
    } catch (e) {
      notify(describe(e), "error");
    }
  }, [def, notify]);

  const exportYaml = useCallback(() => {
    void loadYaml().then((YAML) => {
      const blob = new Blob([YAML.stringify({ kind: "workflow", ...def })], { type: "application/yaml" });
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = `${def.id}.yaml`;
      a.click();
      URL.revokeObjectURL(a.href);
    });
  }, [def]);

  const importYaml = useCallback(async (file: File) => {
    try {
      const parsed = (await loadYaml()).parse(await file.text()) as WorkflowDef;
      if (!parsed || typeof parsed !== "object" || !Array.isArray(parsed.steps)) throw new Error("not a workflow: it has no steps");
      const withLayout = parsed.layout?.nodes ? parsed : { ...parsed, layout: { nodes: await autoLayout(parsed) } };
      edit(withLayout);
      setTimeout(() => flow.fitView(), 50);
      notify(`Imported ${file.name}`, "ok");
    } catch (e) {
      notify(`Import failed: ${describe(e)}`, "error");
    }
  }, [edit, flow, notify]);

  // Keyboard: undo/redo, copy/paste, save (delete and multi-select are React Flow's).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement;
      if (target.closest("input, textarea, select, [contenteditable]")) return;
      const mod = e.ctrlKey || e.metaKey;
      if (!mod) return;
      const key = e.key.toLowerCase();
      if (key === "z" && !e.shiftKey) { e.preventDefault(); history.undo(); }
      else if ((key === "z" && e.shiftKey) || key === "y") { e.preventDefault(); history.redo(); }
      else if (key === "c") { clipboard.current = selected.map((id) => placed.get(id)?.step).filter((s): s is StepDef => !!s); }
      else if (key === "x" && !readOnly) {
        clipboard.current = selected.map((id) => placed.get(id)?.step).filter((s): s is StepDef => !!s);
        edit(removeSteps(def, selected));
      } else if (key === "v" && clipboard.current.length && !readOnly) {
        e.preventDefault();
        const scope = placed.get(clipboard.current[0].id)?.scope.key ?? "";
        const [next, ids] = pasteSteps(def, clipboard.current, scope);
        edit(next);
        setSelected(ids);
      } else if (key === "s" && !readOnly) { e.preventDefault(); void save("draft"); }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [history, selected, placed, def, edit, readOnly, save]);

  const status = versions[def.version ?? "1.0.0"];
  const errors = validation.problems.filter((p) => p.level === "error").length;
  return (
    <div className="designer">
      <div className="designer-bar">
        <div className="designer-title">
          <strong>{def.name}</strong> <code>{def.id}</code> <span className="muted">v{def.version ?? "1.0.0"}</span>
          {status && <span className={`status status-${status}`}>{status}</span>}
        </div>
        <div className="designer-actions">
          <button className="btn btn-sm" onClick={history.undo} disabled={!history.canUndo} title="Undo (Ctrl+Z)">Undo</button>
          <button className="btn btn-sm" onClick={history.redo} disabled={!history.canRedo} title="Redo (Ctrl+Shift+Z)">Redo</button>
          <button className="btn btn-sm" onClick={() => void layout()} title="Arrange every step (elk)">Auto-layout</button>
          <label className="btn btn-sm" title="Open a workflow YAML or JSON file">Import
            <input type="file" accept=".yaml,.yml,.json" hidden onChange={(e) => e.target.files?.[0] && void importYaml(e.target.files[0])} />
          </label>
          <button className="btn btn-sm" onClick={exportYaml}>Export YAML</button>
          <Can right="edit">
            <button className="btn btn-sm" onClick={() => void save("draft")} title="Save as a draft (Ctrl+S)">Save draft</button>
            <button className="btn btn-sm btn-primary" onClick={() => void save("publish")} disabled={errors > 0}
                    title={errors ? "Fix the problems first" : "Publish a new active version"}>Publish</button>
            {status === "active" && <button className="btn btn-sm" onClick={() => void changeStatus("paused")}>Pause</button>}
            {status && status !== "active" && <button className="btn btn-sm" onClick={() => void changeStatus("active")}>Activate</button>}
          </Can>
          <Can right="run">
            {status === "active" && <button className="btn btn-sm" onClick={() => void runLive()} data-testid="run-live">Run</button>}
          </Can>
        </div>
      </div>
      <div className="designer-body">
        <Palette actions={actions.data ?? []} onAdd={add} />
        <div className="designer-center">
          <Canvas def={def} overlay={overlay} readOnly={readOnly} onSelect={setSelected}
                  onEdit={(next) => edit(next)} />
          <div className="designer-bottom">
            <div className="tabs-inline" role="tablist">
              <button role="tab" aria-selected={tab === "problems"} onClick={() => setTab("problems")}>Problems ({errors})</button>
              <button role="tab" aria-selected={tab === "test"} onClick={() => setTab("test")}>Test run</button>
              {execution && <span className="muted">following execution <a href={`/ui/executions/${execution}`}>{execution}</a></span>}
              <span className="validation-state muted" data-testid="validation-state" data-seq={validation.seq}
                    data-pending={validation.pending ? "1" : "0"} data-ms={validation.tookMs}>
                {validation.pending ? "checking…" : `checked in ${validation.tookMs} ms`}
              </span>
            </div>
            {tab === "problems"
              ? <ProblemsList problems={validation.problems} validating={validation.pending}
                              onPick={(step) => { setSelected(step ? [step] : []); if (step) flow.fitView({ nodes: [{ id: step }], duration: 200, maxZoom: 1.2 }); }} />
              : <TestPanel onRun={(i, s) => void runTest(i, s)} running={run.running} result={run.result} error={run.error} />}
          </div>
        </div>
        <Suspense fallback={<aside className="properties"><Loading what="Loading the forms" /></aside>}>
          {!panel ? <aside className="properties"><Loading what="Loading the forms" /></aside> : <PropertiesPanel def={def} step={current} readOnly={readOnly}
                           problems={current ? problemsByStep.get(current.id) ?? [] : problemsByStep.get("") ?? []}
                           run={current ? run.overlay.get(current.id) : undefined} mocks={mocks} setMocks={setMocks}
                           onStep={(id, fields) => edit(updateStep(def, id, fields), `step:${id}`)}
                           onWorkflow={(fields) => edit(updateWorkflow(def, fields), "workflow")} />}
        </Suspense>
      </div>
    </div>
  );
}

/** `/designer` (a new workflow, or a template passed in the navigation state) and
 * `/designer/<workflow id>?version=<v>` (a stored version; default the latest). */
export default function DesignerPage() {
  const id = useParams()["*"] || null;
  const [search] = useSearchParams();
  const state = useLocation().state as {
    definition?: WorkflowDef; saved?: { definition: WorkflowDef; published: Record<string, string> };
  } | null;
  const saved = state?.saved && state.saved.definition.id === id ? state.saved : undefined;
  // The route's loader started opening the workflow (designerLoader); a retry opens it anew.
  const { opening } = (useLoaderData() ?? {}) as { opening?: Promise<Opened> | null };
  const consumed = useRef<Promise<Opened> | null>(null);
  const loaded = useQuery(id && !saved ? `designer:${id}:${search.get("version") ?? ""}` : null, (signal) => {
    if (opening && consumed.current !== opening) return (consumed.current = opening);
    return openWorkflow(id!, search.get("version"), signal);
  });
  useEffect(() => { document.title = "Designer · headwater"; }, []);
  if (id && !saved && !loaded.data) {
    return loaded.error ? <ErrorState error={loaded.error} retry={loaded.reload} /> : <Loading what="Opening the workflow" />;
  }
  const initial = saved?.definition ?? loaded.data?.definition ?? state?.definition ?? BLANK;
  return (
    // Keyed with the page: another workflow or version starts a fresh canvas store too (a
    // selection left in the old store would otherwise come back as the new canvas' own).
    <ReactFlowProvider key={`${id ?? "new"}:${search.get("version") ?? ""}`}>
      <Prepared initial={initial}
                published={saved?.published ?? loaded.data?.published ?? {}}
                validation={loaded.data?.validation && { answer: loaded.data.validation, ms: loaded.data.validationMs }} />
    </ReactFlowProvider>
  );
}

/** Lays out a definition that has no positions yet, then opens it. */
function Prepared({ initial, published, validation }: {
  initial: WorkflowDef; published: Record<string, string>; validation?: { answer: Validation; ms: number };
}) {
  const [ready, setReady] = useState<WorkflowDef | null>(hasLayout(initial) ? initial : null);
  useEffect(() => {
    if (ready) return;
    autoLayout(initial).then((nodes) => setReady({ ...initial, layout: { ...initial.layout, nodes } }));
  }, [initial, ready]);
  return ready ? <Designer initial={ready} published={published} validation={validation} />
    : <Loading what="Arranging the steps" />;
}
