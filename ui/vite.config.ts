/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

import { routePreload } from "./route-preload";

// The API serves the build at /ui (projections/api.py); `npm run dev` proxies every other
// path to an API on HEADWATER_API (default http://127.0.0.1:8080).
const api = process.env.HEADWATER_API ?? "http://127.0.0.1:8080";

export default defineConfig({
  base: "/ui/",
  plugins: [react(), routePreload({
    "/": "src/pages/Dashboard.tsx", "/workflows/*": "src/pages/workflows/MigratePage.tsx", "/workflows": "src/pages/Workflows.tsx", "/designer": "src/pages/Designer.tsx",
    "/executions/*": "src/pages/ExecutionDetail.tsx", "/executions": "src/pages/Executions.tsx", "/rules": "src/pages/Rules.tsx", "/templates": "src/pages/Templates.tsx",
    "/monitoring": "src/pages/Monitoring.tsx",
  })],
  build: {
    outDir: "../projections/ui",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
  },
  server: { proxy: { "^/(?!ui/|@|src/|node_modules/).*": { target: api, changeOrigin: true } } },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test-setup.ts"],
  },
});
