// Dashboard: today's counters, success rate, the hourly trend, and a live feed of events.
import {call, stream} from "../api.js";
import {badge, formatPercent, formatTime, h, replace} from "../dom.js";

function card(label, value) {
  return h("div", {class: "card"}, h("div", {class: "card-value"}, value), h("div", {class: "card-label"}, label));
}

/** The hourly trend as bars: started per hour, with failures marked. */
function trendChart(trend) {
  const width = 720;
  const height = 160;
  const most = Math.max(1, ...trend.map((b) => b.started));
  const bar = width / Math.max(1, trend.length);
  const svg = h("svg", {viewBox: `0 0 ${width} ${height + 20}`, class: "chart", role: "img",
    "aria-label": `Executions started per hour over the last ${trend.length} hours`});
  trend.forEach((bucket, i) => {
    const tall = (bucket.started / most) * height;
    const failed = (bucket.ended?.failed || 0) + (bucket.ended?.timed_out || 0);
    const failTall = Math.min(tall, (failed / most) * height);
    const x = i * bar + 1;
    svg.append(h("rect", {x, y: height - tall, width: Math.max(1, bar - 2), height: tall, class: "bar"},
      h("title", {}, `${formatTime(bucket.hour)}: ${bucket.started} started, ${failed} failed`)));
    if (failTall > 0) {
      svg.append(h("rect", {x, y: height - failTall, width: Math.max(1, bar - 2), height: failTall, class: "bar-failed"}));
    }
  });
  svg.append(h("line", {x1: 0, y1: height, x2: width, y2: height, class: "axis"}));
  trend.forEach((bucket, i) => {
    if (i % 6 !== 0 && i !== trend.length - 1) return;
    const hour = new Date(bucket.hour);
    const label = Number.isNaN(hour.getTime()) ? "" : `${String(hour.getHours()).padStart(2, "0")}:00`;
    svg.append(h("text", {x: i * bar + bar / 2, y: height + 14, class: "tick", "text-anchor": "middle"}, label));
  });
  return svg;
}

function render(view, data) {
  const statuses = Object.entries(data.by_status || {});
  replace(view,
    h("div", {class: "cards"},
      card("Executions today", data.executions_today),
      card("Running now", data.running),
      card("Success rate", formatPercent(data.success_rate)),
      card("Active workflows", data.active_workflows),
      card("Active rules", data.active_rules)),
    h("h2", {}, "Today by status"),
    statuses.length ? h("ul", {class: "inline"}, statuses.map(([status, n]) => h("li", {}, badge(status), ` ${n}`)))
      : h("p", {class: "muted"}, "No executions today."),
    h("h2", {}, "Trend"), trendChart(data.trend || []),
    h("p", {class: "muted"}, `As of ${formatTime(data.now)}`));
}

export async function dashboardPage(main) {
  const view = h("section", {"aria-labelledby": "dash-title"});
  const state = h("span", {class: "live-state", role: "status", "aria-label": "live updates"}, "connecting");
  const feed = h("ol", {class: "feed", "aria-label": "Latest execution events"});
  replace(main, h("h1", {id: "dash-title"}, "Dashboard ", state), view,
    h("h2", {}, "Live events"), feed);
  const refresh = async () => render(view, await call("GET", "/dashboard", {query: {tz: Intl.DateTimeFormat().resolvedOptions().timeZone}}));
  await refresh();
  let pending = null;
  const live = stream("/events", {
    onState: (text) => { state.textContent = text; },
    onEvent: (event) => {
      if (event.event === "dropped") return;
      let data = {};
      try { data = JSON.parse(event.data); } catch { return; }
      feed.prepend(h("li", {}, h("a", {href: `#/executions/${encodeURIComponent(data.execution_id)}`}, data.execution_id),
        ` ${event.event}`, data.step_id ? ` · ${data.step_id}` : "", ` · ${formatTime(data.time)}`));
      while (feed.children.length > 25) feed.lastChild.remove();
      if (!pending) pending = setTimeout(() => { pending = null; refresh().catch(() => {}); }, 1500);
    },
  });
  return () => { live.abort(); clearTimeout(pending); };
}
