import { useEffect, useRef, type ReactNode } from "react";

/** A modal: Escape or the backdrop closes it, focus moves into it and back when it closes. */
export function Dialog({ title, onClose, children, footer }: {
  title: string; onClose: () => void; children: ReactNode; footer?: ReactNode;
}) {
  const ref = useRef<HTMLDivElement>(null);
  // The latest onClose, without re-running the mount effect: a parent re-rendering (live
  // updates do, every second) must not pull the focus back to the first field.
  const closeRef = useRef(onClose);
  closeRef.current = onClose;
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const first = ref.current?.querySelector<HTMLElement>("input, textarea, select, button");
    first?.focus();
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && closeRef.current();
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("keydown", onKey);
      before?.focus?.();
    };
  }, []);
  return (
    <div className="dialog-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className="dialog" role="dialog" aria-modal="true" aria-label={title} ref={ref}>
        <div className="dialog-head"><h2>{title}</h2></div>
        <div className="dialog-body">{children}</div>
        {footer && <div className="dialog-foot">{footer}</div>}
      </div>
    </div>
  );
}

/** Ask before doing something that cannot be undone. */
export function Confirm({ title, children, confirm, danger, onConfirm, onClose, pending }: {
  title: string; children: ReactNode; confirm: string; danger?: boolean;
  onConfirm: () => void; onClose: () => void; pending?: boolean;
}) {
  return (
    <Dialog title={title} onClose={onClose} footer={
      <>
        <button className="btn" onClick={onClose}>Keep as is</button>
        <button className={`btn ${danger ? "btn-danger" : "btn-primary"}`} disabled={pending} onClick={onConfirm}>
          {confirm}
        </button>
      </>
    }>
      {children}
    </Dialog>
  );
}
