import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from "react";

import { api, unwrap } from "../api/client";
import { ApiError } from "../api/errors";
import type { Caller } from "../api/types";
import { getToken, onTokenChange } from "./token";

export type Right = "view" | "run" | "edit";

export interface Auth {
  /** Who the stored token is; undefined while asking. */
  caller: Caller | undefined;
  /** The API wants a (valid) token: the layout shows the token form. */
  needsToken: boolean;
  error: unknown;
  /** Whether the caller's role grants `right` at all (objects may still refuse: 403/404). */
  can: (right: Right) => boolean;
  token: string;
}

export const AuthContext = createContext<Auth>({
  caller: undefined, needsToken: false, error: undefined, can: () => false, token: "",
});

/** Asks the API who the stored token is (`GET /me`) and again whenever it changes. */
export function AuthProvider({ children }: { children: ReactNode }) {
  const [token, setTokenState] = useState(getToken);
  const [state, setState] = useState<{ caller?: Caller; error?: unknown }>({});

  useEffect(() => onTokenChange(() => setTokenState(getToken())), []);
  useEffect(() => {
    let live = true;
    setState({});
    unwrap(api.GET("/me")).then(
      (caller) => live && setState({ caller }),
      (error) => live && setState({ error }),
    );
    return () => {
      live = false;
    };
  }, [token]);

  const value = useMemo<Auth>(() => {
    const rights = new Set(state.caller?.rights ?? []);
    return {
      caller: state.caller,
      error: state.error,
      needsToken: state.error instanceof ApiError && state.error.status === 401,
      can: (right) => rights.has(right),
      token,
    };
  }, [state, token]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  return useContext(AuthContext);
}

/** Renders its children only when the caller's role grants `right`: what a role cannot do is
 * not offered at all (rather than offered and refused). */
export function Can({ right, children }: { right: Right; children: ReactNode }) {
  return useAuth().can(right) ? <>{children}</> : null;
}
