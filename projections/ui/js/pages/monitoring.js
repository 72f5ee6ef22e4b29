// Monitoring: Kafka health, how far the views lag behind the log, per-rule and per-workflow
// statistics, and where the Prometheus metrics are.
import {call, seg} from "../api.js";
import {formatMs, formatPercent, h, pretty, replace} from "../dom.js";

async function section(title, load) {
  const body = h("div", {}, h("p", {class: "muted"}, "Loading…"));
  const out = h("section", {}, h("h2", {}, title), body);
  load().then((content) => replace(body, content), (error) => replace(body, h("p", {class: "error"}, error.message)));
  return out;
}

async function health() {
  const body = await call("GET", "/health").catch((error) => ({status: "degraded", kafka: {error: error.message}}));
  return h("div", {}, h("p", {}, `API ${body.status}; Kafka ${body.kafka?.status ?? "down"}`,
    body.kafka?.brokers !== undefined ? ` (${body.kafka.brokers} broker(s), ${body.kafka.topics} topics)` : ""),
  body.kafka?.error ? h("p", {class: "error"}, body.kafka.error) : null);
}

async function lag() {
  const report = await call("GET", "/views/lag");
  return h("div", {}, h("p", {}, `${report.total} record(s) not yet in the views.`),
    h("table", {class: "grid"}, h("thead", {}, h("tr", {}, ["Topic", "Partition", "Position", "End", "Lag"].map((c) => h("th", {scope: "col"}, c)))),
      h("tbody", {}, report.partitions.map((p) => h("tr", {}, [p.topic, p.partition, p.position, p.end, p.lag].map((v) => h("td", {}, v)))))));
}

async function rules() {
  const list = await call("GET", "/definitions", {query: {kind: "rule"}});
  const stats = await Promise.all(list.map((r) => call("GET", `/rules/${seg(r.definition_id)}/stats`).catch(() => null)));
  if (!list.length) return h("p", {class: "muted"}, "No rules published.");
  return h("table", {class: "grid"}, h("thead", {}, h("tr", {}, ["Rule", "Evaluations", "Matched", "Skipped", "Failed", "Match rate", "p95 µs", "Last error"].map((c) => h("th", {scope: "col"}, c)))),
    h("tbody", {}, list.map((r, i) => {
      const s = stats[i];
      if (!s) return h("tr", {}, h("td", {}, r.definition_id), h("td", {colspan: 7}, "—"));
      return h("tr", {}, h("td", {}, r.definition_id), h("td", {}, s.evaluations), h("td", {}, s.matched), h("td", {}, s.skipped),
        h("td", {}, s.failed), h("td", {}, formatPercent(s.match_rate)), h("td", {}, s.evaluation_us.p95 === null ? "—" : s.evaluation_us.p95.toFixed(0)),
        h("td", {}, s.last_error ? pretty(s.last_error) : "—"));
    })));
}

async function workflows() {
  const list = await call("GET", "/definitions", {query: {kind: "workflow"}});
  const stats = await Promise.all(list.map((w) => call("GET", `/workflows/${seg(w.definition_id)}/stats`).catch(() => null)));
  if (!list.length) return h("p", {class: "muted"}, "No workflows published.");
  return h("table", {class: "grid"}, h("thead", {}, h("tr", {}, ["Workflow", "Executions", "Success rate", "p50", "p95", "Step failures"].map((c) => h("th", {scope: "col"}, c)))),
    h("tbody", {}, list.map((w, i) => {
      const s = stats[i];
      if (!s) return h("tr", {}, h("td", {}, w.definition_id), h("td", {colspan: 5}, "—"));
      return h("tr", {}, h("td", {}, w.definition_id), h("td", {}, s.total), h("td", {}, formatPercent(s.success_rate)),
        h("td", {}, formatMs(s.duration_ms.p50)), h("td", {}, formatMs(s.duration_ms.p95)),
        h("td", {}, Object.entries(s.step_failures).map(([k, n]) => `${k} ${n}`).join(", ") || "—"));
    })));
}

export async function monitoringPage(main) {
  replace(main, h("h1", {}, "Monitoring"),
    h("p", {}, "Prometheus metrics: ", h("a", {href: "/metrics"}, "/metrics"), " · API reference: ", h("a", {href: "/docs"}, "/docs")),
    await section("Health", health), await section("View lag", lag),
    await section("Rules", rules), await section("Workflows", workflows),
    h("section", {}, h("h2", {}, "Dead letters"),
      h("p", {class: "muted"}, "The API does not serve the dead-letter topic yet; read it with a Kafka consumer on hw.dead-letters.")));
}
