import { useState } from "react";
import { Link, NavLink, Outlet, useLocation } from "react-router";

import { useAuth } from "../auth/AuthContext";
import { useTheme, type ThemeChoice } from "../theme/theme";
import { TokenDialog } from "./TokenDialog";
import "./layout.css";

export const TABS = [
  { to: "/", label: "Dashboard", end: true },
  { to: "/workflows", label: "Workflows" },
  { to: "/designer", label: "Designer" },
  { to: "/executions", label: "Executions" },
  { to: "/rules", label: "Rules" },
  { to: "/templates", label: "Templates" },
  { to: "/monitoring", label: "Monitoring" },
] as const;

const NEXT_THEME: Record<ThemeChoice, ThemeChoice> = { system: "light", light: "dark", dark: "system" };

/** The frame of every page: brand, tabs, theme and token; full-bleed for the designer. */
export function Layout() {
  const { caller, needsToken } = useAuth();
  const { choice, setChoice } = useTheme();
  const [tokenOpen, setTokenOpen] = useState(false);
  const full = useLocation().pathname.startsWith("/designer");
  return (
    <div className="app">
      <a className="skip" href="#main">Skip to content</a>
      <header className="topbar">
        <Link to="/" className="brand" aria-label="headwater home">
          <span className="brand-mark" aria-hidden="true" />
          headwater
        </Link>
        <nav className="tabs" aria-label="Main">
          {TABS.map((t) => (
            <NavLink key={t.to} to={t.to} end={"end" in t} className="tab">{t.label}</NavLink>
          ))}
        </nav>
        <div className="topbar-right">
          <button className="btn btn-ghost btn-sm" onClick={() => setChoice(NEXT_THEME[choice])}
            title="Colour theme" aria-label={`Theme: ${choice}`}>
            {choice === "dark" ? "☾ Dark" : choice === "light" ? "☀ Light" : "◐ Auto"}
          </button>
          {caller && (
            <span className="who" title={caller.open ? "No tokens are configured: the API is open" : undefined}>
              {caller.subject} · {caller.role}
            </span>
          )}
          <button className="btn btn-sm" onClick={() => setTokenOpen(true)}>Token</button>
        </div>
      </header>
      <main id="main" className={`main${full ? " full" : ""}`}>
        <Outlet />
      </main>
      {(tokenOpen || needsToken) && <TokenDialog required={needsToken} onClose={() => setTokenOpen(false)} />}
    </div>
  );
}
