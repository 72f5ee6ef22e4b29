import { useCallback, useEffect, useRef, useState } from "react";

import { stream, type SseEvent } from "./sse";

export interface Query<T> {
  data: T | undefined;
  error: unknown;
  /** True only while there is nothing to show yet (a refresh keeps the old data on screen). */
  loading: boolean;
  /** True during any fetch, the first included. */
  fetching: boolean;
  reload: () => void;
}

/**
 * Fetch `fetcher` whenever `key` changes (null: do nothing), keep the last data while
 * refreshing, and drop answers that arrive after a newer request started.
 */
export function useQuery<T>(
  key: string | null,
  fetcher: (signal: AbortSignal) => Promise<T>,
  options: { refreshMs?: number } = {},
): Query<T> {
  const [state, setState] = useState<{ key: string | null; data?: T; error?: unknown; fetching: boolean }>({
    key: null,
    fetching: key !== null,
  });
  const [tick, setTick] = useState(0);
  const fetcherRef = useRef(fetcher);
  fetcherRef.current = fetcher;

  useEffect(() => {
    if (key === null) return;
    const controller = new AbortController();
    setState((s) => ({ ...s, fetching: true }));
    fetcherRef.current(controller.signal).then(
      (data) => !controller.signal.aborted && setState({ key, data, error: undefined, fetching: false }),
      (error) => !controller.signal.aborted && setState((s) => ({ key, data: s.key === key ? s.data : undefined, error, fetching: false })),
    );
    return () => controller.abort();
  }, [key, tick]);

  useEffect(() => {
    if (key === null || !options.refreshMs) return;
    const timer = setInterval(() => setTick((t) => t + 1), options.refreshMs);
    return () => clearInterval(timer);
  }, [key, options.refreshMs]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  const current = state.key === key;
  const data = current ? state.data : undefined;
  const error = current ? state.error : undefined;
  return { data, error, loading: key !== null && data === undefined && error === undefined, fetching: state.fetching, reload };
}

/** Run an action (a POST) and keep its pending flag, error and result for the view. */
export function useAction<A extends unknown[], R>(action: (...args: A) => Promise<R>) {
  const [state, setState] = useState<{ pending: boolean; error?: unknown; result?: R }>({ pending: false });
  const run = useCallback(
    async (...args: A): Promise<R | undefined> => {
      setState({ pending: true });
      try {
        const result = await action(...args);
        setState({ pending: false, result });
        return result;
      } catch (error) {
        setState({ pending: false, error });
        return undefined;
      }
    },
    [action],
  );
  const clear = useCallback(() => setState({ pending: false }), []);
  return { ...state, run, clear };
}

/** Follow a server-sent event stream while `path` is not null; `onEvent` may change freely. */
export function useStream(path: string | null, onEvent: (event: SseEvent) => void): string {
  const [state, setState] = useState("off");
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    if (path === null) {
      setState("off");
      return;
    }
    return stream(path, { onEvent: (e) => handler.current(e), onState: setState });
  }, [path]);
  return state;
}

/** A value that follows `value` once it has stopped changing for `ms`. */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/** State kept in localStorage under `key` (JSON), for preferences and saved views. */
export function useStored<T>(key: string, initial: T): [T, (value: T) => void] {
  const [value, setValue] = useState<T>(() => {
    try {
      const raw = localStorage.getItem(key);
      return raw === null ? initial : (JSON.parse(raw) as T);
    } catch {
      return initial;
    }
  });
  const store = useCallback(
    (next: T) => {
      setValue(next);
      try {
        localStorage.setItem(key, JSON.stringify(next));
      } catch {
        /* private mode: keep it for this page only */
      }
    },
    [key],
  );
  return [value, store];
}
