import { useCallback, useReducer } from "react";

// Undo and redo over whole definitions: every edit is pure (graph/edit.ts), so the history is
// the list of definitions; `replace` changes the present without a new entry (typing in a
// field, dragging), `push` makes one.
interface History<T> { past: T[]; present: T; future: T[] }
type Action<T> = { type: "push" | "replace" | "reset"; value: T } | { type: "undo" | "redo" };

const LIMIT = 200;

function reduce<T>(h: History<T>, a: Action<T>): History<T> {
  switch (a.type) {
    case "push": return a.value === h.present ? h : { past: [...h.past, h.present].slice(-LIMIT), present: a.value, future: [] };
    case "replace": return { ...h, present: a.value };
    case "reset": return { past: [], present: a.value, future: [] };
    case "undo": return h.past.length ? { past: h.past.slice(0, -1), present: h.past[h.past.length - 1], future: [h.present, ...h.future] } : h;
    case "redo": return h.future.length ? { past: [...h.past, h.present], present: h.future[0], future: h.future.slice(1) } : h;
  }
}

export function useHistory<T>(initial: T) {
  const [h, dispatch] = useReducer(reduce<T>, { past: [], present: initial, future: [] });
  return {
    value: h.present,
    canUndo: h.past.length > 0,
    canRedo: h.future.length > 0,
    push: useCallback((value: T) => dispatch({ type: "push", value }), []),
    replace: useCallback((value: T) => dispatch({ type: "replace", value }), []),
    reset: useCallback((value: T) => dispatch({ type: "reset", value }), []),
    undo: useCallback(() => dispatch({ type: "undo" }), []),
    redo: useCallback(() => dispatch({ type: "redo" }), []),
  };
}
