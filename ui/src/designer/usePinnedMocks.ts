// The test panel's pinned answers, stored on the server per workflow
// (`/workflows/{id}/test-mocks`): they survive a reload and every designer of the workflow
// sees the same ones. A workflow the server does not know yet keeps its pins on the page and
// stores them with its first save.
import { useCallback, useEffect, useRef, useState } from "react";

import { api, unwrap } from "../api/client";
import { describe } from "../api/errors";
import type { Mocks } from "./api";

export function usePinnedMocks(workflowId: string, stored: boolean, onError: (message: string) => void): [Mocks, (m: Mocks) => void] {
  const [mocks, setMocks] = useState<Mocks>({});
  const current = useRef(mocks);
  current.current = mocks;
  const report = useRef(onError);
  report.current = onError;

  const save = useCallback((next: Mocks) => {
    unwrap(api.PUT("/workflows/{workflow_id}/test-mocks", { params: { path: { workflow_id: workflowId } }, body: { mocks: next } }))
      .catch((e) => report.current(`The pins were not stored: ${describe(e)}`));
  }, [workflowId]);

  const loaded = useRef(false);
  useEffect(() => {
    if (!stored) return;
    if (loaded.current) {  // saved for the first time: store what was pinned before
      if (Object.keys(current.current).length) save(current.current);
      return;
    }
    loaded.current = true;
    const controller = new AbortController();
    unwrap(api.GET("/workflows/{workflow_id}/test-mocks", { params: { path: { workflow_id: workflowId } }, signal: controller.signal }))
      .then((got) => setMocks(got.mocks as Mocks), (e) => !controller.signal.aborted && report.current(describe(e)));
    return () => controller.abort();
  }, [workflowId, stored, save]);

  const set = useCallback((next: Mocks) => {
    setMocks(next);
    if (stored) save(next);
  }, [stored, save]);
  return [mocks, set];
}
