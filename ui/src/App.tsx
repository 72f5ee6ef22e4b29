import { lazy, Suspense } from "react";
import { createBrowserRouter, RouterProvider } from "react-router";

import { AuthProvider } from "./auth/AuthContext";
import { Loading } from "./components/states";
import { ToastProvider } from "./components/Toasts";
import { designerLoader } from "./designer/open";
import { Layout } from "./layout/Layout";
import { NotFound } from "./pages/NotFound";
import { ThemeProvider } from "./theme/theme";

// Each page is its own chunk: the dashboard does not load React Flow or the charts.
const Dashboard = lazy(() => import("./pages/Dashboard"));
const Workflows = lazy(() => import("./pages/Workflows"));
const MigratePage = lazy(() => import("./pages/workflows/MigratePage"));
const Designer = lazy(() => import("./pages/Designer"));
const Executions = lazy(() => import("./pages/Executions"));
const ExecutionDetail = lazy(() => import("./pages/ExecutionDetail"));
const Rules = lazy(() => import("./pages/Rules"));
const Templates = lazy(() => import("./pages/Templates"));
const Monitoring = lazy(() => import("./pages/Monitoring"));

const page = (element: React.ReactNode) => <Suspense fallback={<Loading />}>{element}</Suspense>;

export const routes = [
  {
    path: "/",
    element: <Layout />,
    children: [
      { index: true, element: page(<Dashboard />) },
      { path: "workflows", element: page(<Workflows />) },
      { path: "workflows/:workflowId/migrate", element: page(<MigratePage />) },
      // The loader starts the API calls while the designer's chunk is still loading.
      { path: "designer/*", element: page(<Designer />), loader: designerLoader },
      { path: "executions", element: page(<Executions />) },
      { path: "executions/:executionId", element: page(<ExecutionDetail />) },
      { path: "rules/*", element: page(<Rules />) },
      { path: "templates", element: page(<Templates />) },
      { path: "monitoring", element: page(<Monitoring />) },
      { path: "*", element: <NotFound /> },
    ],
  },
];

const router = createBrowserRouter(routes, { basename: "/ui" });

export function App() {
  return (
    <ThemeProvider>
      <AuthProvider>
        <ToastProvider>
          <RouterProvider router={router} />
        </ToastProvider>
      </AuthProvider>
    </ThemeProvider>
  );
}
