import { useState } from "react";

import { setToken } from "../auth/token";
import { Dialog } from "../components/Dialog";

/** Asks for the API token; it is kept in this browser only (localStorage). */
export function TokenDialog({ onClose, required }: { onClose: () => void; required?: boolean }) {
  const [value, setValue] = useState("");
  const save = () => {
    setToken(value);
    onClose();
  };
  return (
    <Dialog title={required ? "Sign in with an API token" : "API token"} onClose={onClose} footer={
      <>
        <button className="btn" onClick={() => { setToken(""); onClose(); }}>Forget token</button>
        <button className="btn btn-primary" onClick={save} disabled={!value.trim()}>Use token</button>
      </>
    }>
      <p className="muted small" style={{ margin: 0 }}>
        {required
          ? "This API requires a token. Ask an operator for one (HEADWATER_API_TOKENS)."
          : "Requests are sent with this bearer token. It is stored in this browser only."}
      </p>
      <label className="field">
        Token
        <input type="password" autoComplete="off" value={value}
          onChange={(e) => setValue(e.target.value)}
          onKeyDown={(e) => e.key === "Enter" && value.trim() && save()} />
      </label>
    </Dialog>
  );
}
