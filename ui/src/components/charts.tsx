import { Area, AreaChart, Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

import { useTheme } from "../theme/theme";

export interface Series { key: string; label: string; color?: number; dashed?: boolean }

/** The theme's colours as values (SVG attributes do not resolve CSS variables everywhere). */
function useColors() {
  const { dark } = useTheme();
  const css = typeof window === "undefined" ? null : getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string) => css?.getPropertyValue(name).trim() || fallback;
  return {
    dark,
    series: [1, 2, 3, 4, 5].map((i) => v(`--chart-${i}`, "#2f6fed")),
    grid: v("--border", "#e2e5ea"),
    text: v("--muted", "#5c6572"),
    surface: v("--surface", "#fff"),
  };
}

/** A time series chart: x is `t` (a label), one line, area or bar per series. */
export function TimeChart({ data, series, kind = "area", unit = "", height = 220, stacked = false }: {
  data: Record<string, unknown>[]; series: Series[]; kind?: "area" | "line" | "bar"; unit?: string; height?: number; stacked?: boolean;
}) {
  const c = useColors();
  const color = (s: Series, i: number) => c.series[(s.color ?? i) % c.series.length];
  const axis = { stroke: c.text, fontSize: 11, tickLine: false, axisLine: false } as const;
  const tooltip = <Tooltip contentStyle={{ background: c.surface, border: `1px solid ${c.grid}`, borderRadius: 6, fontSize: 12 }}
    formatter={(value) => `${typeof value === "number" ? Math.round(value * 100) / 100 : String(value)}${unit ? ` ${unit}` : ""}`} />;
  const common = { data, margin: { top: 8, right: 12, bottom: 0, left: -8 } };
  const children = [
    <CartesianGrid key="g" stroke={c.grid} strokeDasharray="3 3" vertical={false} />,
    <XAxis key="x" dataKey="t" {...axis} minTickGap={24} />,
    <YAxis key="y" {...axis} width={44} allowDecimals={unit !== ""} />,
    <Legend key="l" wrapperStyle={{ fontSize: 12 }} iconType="plainline" />,
  ];
  return (
    <div style={{ width: "100%", height }}>
      <ResponsiveContainer>
        {kind === "bar" ? (
          <BarChart {...common}>{children}{tooltip}
            {series.map((s, i) => <Bar key={s.key} dataKey={s.key} name={s.label} fill={color(s, i)} stackId={stacked ? "a" : undefined} isAnimationActive={false} />)}
          </BarChart>
        ) : kind === "line" ? (
          <LineChart {...common}>{children}{tooltip}
            {series.map((s, i) => <Line key={s.key} dataKey={s.key} name={s.label} stroke={color(s, i)} strokeWidth={2} dot={{ r: 2.5, strokeWidth: 0, fill: color(s, i) }}
              strokeDasharray={s.dashed ? "5 4" : undefined} isAnimationActive={false} connectNulls />)}
          </LineChart>
        ) : (
          <AreaChart {...common}>{children}{tooltip}
            {series.map((s, i) => <Area key={s.key} dataKey={s.key} name={s.label} stroke={color(s, i)} fill={color(s, i)}
              fillOpacity={s.dashed ? 0 : 0.15} strokeWidth={2} strokeDasharray={s.dashed ? "5 4" : undefined} stackId={stacked ? "a" : undefined} isAnimationActive={false} />)}
          </AreaChart>
        )}
      </ResponsiveContainer>
    </div>
  );
}
