import { useEffect, useRef, useState } from "react";

import { api, unwrap } from "../../api/client";
import { ApiError } from "../../api/errors";
import { useStream } from "../../api/hooks";
import { TERMINAL, type ExecutionView } from "../../api/types";

// How long a page opened right after a start waits for the views to show the execution: the
// start is a command on Kafka, and the views see the execution only once the engine ran it.
const APPEAR_WITHIN_MS = 30_000;
const APPEAR_POLL_MS = 600;

export interface ExecutionState {
  view?: ExecutionView;
  error?: unknown;
  /** Not in the views yet, still within the time a fresh start may take to appear. */
  appearing: boolean;
  live: string;
  reload: () => void;
}

async function fetchView(id: string): Promise<ExecutionView> {
  return unwrap(api.GET("/executions/{execution_id}", {
    params: { path: { execution_id: id }, query: { timeline_limit: 2000 } },
  }));
}

/** One execution, kept current: retried while it has not appeared yet (a just-started one
 * answers 404 for a moment), followed over its event stream while it runs. */
export function useExecution(id: string): ExecutionState {
  const [state, setState] = useState<{ view?: ExecutionView; error?: unknown; appearing: boolean }>({ appearing: false });
  const [tick, setTick] = useState(0);
  const since = useRef(Date.now());

  useEffect(() => {
    since.current = Date.now();
    setState({ appearing: false });
  }, [id]);

  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () => {
      fetchView(id).then(
        (view) => live && setState({ view, appearing: false }),
        (error) => {
          if (!live) return;
          const missing = error instanceof ApiError && error.status === 404;
          if (missing && Date.now() - since.current < APPEAR_WITHIN_MS) {
            setState((s) => ({ ...s, appearing: true }));
            timer = setTimeout(load, APPEAR_POLL_MS);
          } else setState((s) => ({ view: s.view, error, appearing: false }));
        },
      );
    };
    load();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [id, tick]);

  // Follow the execution while it is not finished: every event asks for a (throttled) reload.
  // The stream's address stays the same across reloads (a new one would reconnect each time).
  const summary = state.view?.summary;
  const firstSeq = useRef<{ id: string; seq: number } | null>(null);
  if (summary && firstSeq.current?.id !== id) firstSeq.current = { id, seq: summary.last_seq };
  const following = summary && !TERMINAL.has(summary.status) && firstSeq.current
    ? `/executions/${encodeURIComponent(id)}/events?after=${firstSeq.current.seq}` : null;
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  const live = useStream(following, () => {
    if (pending.current) return;
    pending.current = setTimeout(() => {
      pending.current = null;
      setTick((t) => t + 1);
    }, 250);
  });
  useEffect(() => () => {
    if (pending.current) clearTimeout(pending.current);
  }, []);

  return { ...state, live, reload: () => setTick((t) => t + 1) };
}
