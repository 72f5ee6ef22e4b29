import type { ReactNode } from "react";

import { ApiError, describe } from "../api/errors";

/** Something is on its way: a spinner and what it is. */
export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <div className="state" role="status" aria-live="polite">
      <div className="spinner" aria-hidden="true" />
      <p>{what}…</p>
    </div>
  );
}

/** Placeholder rows while a table's first page loads. */
export function SkeletonRows({ rows = 5 }: { rows?: number }) {
  return (
    <div className="stack" role="status" aria-label="Loading" style={{ padding: "var(--s4)" }}>
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} className="skeleton" style={{ width: `${90 - ((i * 13) % 30)}%` }} />
      ))}
    </div>
  );
}

/** Nothing to show yet: say so, and say what to do about it. */
export function Empty({ title, hint, action }: { title: string; hint?: ReactNode; action?: ReactNode }) {
  return (
    <div className="state">
      <h2>{title}</h2>
      {hint && <p>{hint}</p>}
      {action && <div className="row" style={{ marginTop: "var(--s2)" }}>{action}</div>}
    </div>
  );
}

/** A request failed: what the API said, its field errors, and a way to try again. */
export function ErrorState({ error, retry, title }: { error: unknown; retry?: () => void; title?: string }) {
  const status = error instanceof ApiError ? error.status : undefined;
  const heading = title ?? (status === 404 ? "Not found" : status === 403 ? "Not allowed" : "Something went wrong");
  return (
    <div className="state state-error" role="alert">
      <h2>{heading}</h2>
      <p>{describe(error)}</p>
      <ProblemList error={error} />
      {retry && <button className="btn" onClick={retry}>Try again</button>}
    </div>
  );
}

/** An inline error (inside a form or panel), with the API's field errors listed. */
export function ErrorBanner({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <div className="banner banner-error" role="alert">
      {describe(error)}
      <ProblemList error={error} />
    </div>
  );
}

function ProblemList({ error }: { error: unknown }) {
  if (!(error instanceof ApiError) || error.errors.length === 0) return null;
  return (
    <ul>
      {error.errors.slice(0, 20).map((e, i) => (
        <li key={i}>
          <code>{e.path}</code> {e.message}
        </li>
      ))}
    </ul>
  );
}

/** Loading, error or the content: the one way pages branch on a query. */
export function Async<T>({ query, children, what }: {
  query: { data: T | undefined; error: unknown; loading: boolean; reload: () => void };
  children: (data: T) => ReactNode;
  what?: string;
}) {
  if (query.data !== undefined) return <>{children(query.data)}</>;
  if (query.error) return <ErrorState error={query.error} retry={query.reload} />;
  return <Loading what={what} />;
}
