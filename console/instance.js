// One instance: its business summary, where it stands, its history drawn as a timeline, the
// actions the stage accepts and the lock it holds or waits for.

import { get } from "./api.js";
import { el, show, when, words } from "./dom.js";
import { WORKFLOWS } from "./workflows.js";

function parseId(instanceId) {
  const dash = instanceId.indexOf("-");
  const workflow = instanceId.slice(0, dash);
  return WORKFLOWS[workflow] ? { workflow, businessId: instanceId.slice(dash + 1) } : null;
}

function facts(rows) {
  return el(
    "dl",
    { class: "facts" },
    rows.filter(([, value]) => value !== undefined).flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, value)]),
  );
}

export async function renderInstance(view, instanceId) {
  const parsed = parseId(instanceId);
  if (!parsed) {
    show(view, el("p", { class: "error" }, `${instanceId} is not a claim, shipment or maintenance order.`));
    return;
  }
  const meta = WORKFLOWS[parsed.workflow];
  const status = await get(`/${meta.collection}/${encodeURIComponent(parsed.businessId)}`);
  show(
    view,
    el("p", {}, el("a", { href: "#/" }, "← Work queue")),
    el("h1", {}, `${meta.label} ${parsed.businessId}`),
    facts([
      ["Stage", el("span", { id: "stage", class: "stage" }, words(status.stage))],
      ["Waits for", status.waitingFor.length ? status.waitingFor.map(words).join(", ") : "nothing"],
      ["Runtime status", status.runtimeStatus],
      ["Created", when(status.createdTime)],
      ["Last updated", when(status.lastUpdatedTime)],
    ]),
  );
}
