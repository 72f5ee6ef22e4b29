import { render, screen } from "@testing-library/react";
import { createMemoryRouter, RouterProvider } from "react-router";
import { describe, expect, it } from "vitest";

import { Layout, TABS } from "./Layout";

describe("Layout", () => {
  it("shows every tab and marks the current page", () => {
    const router = createMemoryRouter(
      [{ path: "/", element: <Layout />, children: [{ path: "executions", element: <p>list</p> }] }],
      { initialEntries: ["/executions"] },
    );
    render(<RouterProvider router={router} />);
    const nav = screen.getByRole("navigation", { name: "Main" });
    expect([...nav.querySelectorAll("a")].map((a) => a.textContent)).toEqual(TABS.map((t) => t.label));
    expect(screen.getByRole("link", { name: "Executions" }).getAttribute("aria-current")).toBe("page");
    expect(screen.getByRole("link", { name: "Dashboard" }).getAttribute("aria-current")).toBeNull();
  });
});
