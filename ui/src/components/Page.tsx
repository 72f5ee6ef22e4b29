import { useEffect, type ReactNode } from "react";

/** A page's title row (also the document title) with its actions on the right. */
export function Page({ title, sub, actions, children }: {
  title: string; sub?: ReactNode; actions?: ReactNode; children: ReactNode;
}) {
  useEffect(() => {
    document.title = `${title} · headwater`;
  }, [title]);
  return (
    <>
      <div className="page-head">
        <div>
          <h1>{title}</h1>
          {sub && <div className="sub">{sub}</div>}
        </div>
        {actions && <div className="page-actions">{actions}</div>}
      </div>
      {children}
    </>
  );
}
