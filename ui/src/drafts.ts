// The designer's draft: one workflow definition kept in localStorage so that navigating away
// loses nothing. The Templates page puts a template here (after asking, when a draft exists)
// and the designer opens it; both go through these functions.
const KEY = "headwater.designer.draft";

export function getDraft(): Record<string, unknown> | null {
  try {
    const raw = localStorage.getItem(KEY);
    const value = raw ? (JSON.parse(raw) as unknown) : null;
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function setDraft(definition: Record<string, unknown>): void {
  localStorage.setItem(KEY, JSON.stringify(definition));
}

export function clearDraft(): void {
  localStorage.removeItem(KEY);
}

/** Whether a draft has steps worth asking about before it is replaced. */
export function hasDraft(): boolean {
  const d = getDraft();
  return !!d && Array.isArray(d.steps) && d.steps.length > 0;
}
