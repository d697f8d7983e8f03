// The work queue: every workflow instance, filtered by workflow, runtime status and stage,
// with counts per stage, what each waits for and since when, escalations standing out.

import { get } from "./api.js";
import { el, show, when, words } from "./dom.js";
import { ACTIVE, STATUSES, WORKFLOWS, instanceLink } from "./workflows.js";

const PAGE_SIZE = 50;

/** The filter in the address: #/?type=claim&status=active&stage=awaiting_decision&page=2 */
function readFilter(params) {
  return {
    type: params.get("type") || "",
    status: params.get("status") || "active",
    stage: params.get("stage") || "",
  };
}

function statusQuery(status) {
  if (status === "active") return ACTIVE.join(",");
  return status === "all" ? "" : status;
}

function go(filter) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(filter)) if (value) params.set(name, value);
  window.location.hash = `#/?${params}`;
}

function select(name, value, options, onChange) {
  return el(
    "select",
    { name, id: `filter-${name}`, onchange: (event) => onChange(event.target.value) },
    options.map(([optionValue, text]) =>
      el("option", { value: optionValue, selected: optionValue === value }, text),
    ),
  );
}

function filters(filter, counts) {
  const stages = [...new Set(counts.map((c) => c.stage).filter(Boolean))].sort();
  if (filter.stage && !stages.includes(filter.stage)) stages.push(filter.stage);
  const change = (name) => (value) => go({ ...filter, [name]: value });
  return el(
    "form",
    { class: "filters", id: "filters" },
    el("label", { for: "filter-type" }, "Workflow"),
    select("type", filter.type, [["", "All"], ...Object.entries(WORKFLOWS).map(([k, w]) => [k, w.label])], change("type")),
    el("label", { for: "filter-status" }, "Runtime status"),
    select(
      "status",
      filter.status,
      [["active", "Active (pending, running, suspended)"], ...STATUSES.map((s) => [s, s]), ["all", "All"]],
      change("status"),
    ),
    el("label", { for: "filter-stage" }, "Stage"),
    select("stage", filter.stage, [["", "All"], ...stages.map((s) => [s, words(s)])], change("stage")),
  );
}

function stageCounts(filter, counts) {
  if (!counts.length) return el("p", { class: "muted" }, "No instances match.");
  return el(
    "ul",
    { class: "counts", id: "stage-counts" },
    counts.map((c) =>
      el(
        "li",
        { class: c.escalated ? "count escalated" : "count" },
        el(
          "a",
          { href: "#", onclick: (e) => (e.preventDefault(), go({ ...filter, type: c.workflow, stage: c.stage || "" })) },
          el("span", { class: "count-workflow" }, WORKFLOWS[c.workflow].label),
          " ",
          el("span", { class: "count-stage" }, words(c.stage)),
          " ",
          el("strong", { class: "count-number" }, c.count),
          c.escalated ? el("span", { class: "badge escalated" }, `${c.escalated} escalated`) : null,
        ),
      ),
    ),
  );
}

function row(item) {
  return el(
    "tr",
    { class: item.escalated ? "escalated" : "", "data-instance": item.id },
    el("td", {}, WORKFLOWS[item.workflow].label),
    el("td", {}, el("a", { href: instanceLink(item.id), class: "business-id" }, item.businessId)),
    el("td", { class: "stage" }, words(item.stage)),
    el("td", { class: "waiting" }, item.waitingFor.length ? item.waitingFor.map(words).join(", ") : "—"),
    el("td", { class: "since" }, when(item.since || item.lastUpdatedTime)),
    el("td", {}, el("span", { class: `status status-${item.runtimeStatus}` }, item.runtimeStatus)),
    el("td", {}, item.escalated ? el("span", { class: "badge escalated" }, "Escalated · overdue") : ""),
  );
}

function table(items) {
  return el(
    "table",
    { class: "queue", id: "queue" },
    el(
      "thead",
      {},
      el("tr", {}, ["Workflow", "Business id", "Stage", "Waits for", "Since", "Status", ""].map((h) => el("th", {}, h))),
    ),
    el("tbody", {}, items.map(row)),
  );
}

/** Pages move forward with the API's continuation token; the tokens seen are kept to go back. */
const tokens = [""];

function pager(filter, page, nextToken, render) {
  const move = (to) => () => render(filter, to);
  return el(
    "nav",
    { class: "pager" },
    el("button", { type: "button", id: "page-previous", disabled: page === 0, onclick: move(page - 1) }, "← Previous"),
    el("span", { id: "page-number" }, `Page ${page + 1}`),
    el("button", { type: "button", id: "page-next", disabled: !nextToken, onclick: move(page + 1) }, "Next →"),
  );
}

export async function renderQueue(view, params) {
  const filter = readFilter(params);
  tokens.length = 1;
  const query = { type: filter.type, status: statusQuery(filter.status) };
  const counts = (await get("/workflows/stages", query)).items;
  const head = [el("h1", {}, "Work queue"), filters(filter, counts), stageCounts(filter, counts)];
  const list = el("section", { id: "queue-page" });
  show(view, ...head, list);

  async function render(currentFilter, page) {
    const data = await get("/workflows", {
      ...query,
      stage: currentFilter.stage,
      pageSize: PAGE_SIZE,
      continuationToken: tokens[page],
    });
    tokens[page + 1] = data.continuationToken || "";
    show(
      list,
      data.items.length ? table(data.items) : el("p", { class: "muted" }, "Nothing in this page."),
      pager(currentFilter, page, data.continuationToken, render),
    );
  }
  await render(filter, 0);
}
