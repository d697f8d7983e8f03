// One instance: its business summary, where it stands, its history drawn as a timeline, the
// actions its stage accepts and the locks it holds or waits for.

import { actionForms } from "./actions.js";
import { get } from "./api.js";
import { el, show, when, words } from "./dom.js";
import { drawTimeline } from "./timeline.js";
import { ACTIVE, WORKFLOWS, instanceLink } from "./workflows.js";

const REFRESH_MS = 1000;
const REFRESH_TRIES = 30;

function facts(rows, id) {
  return el(
    "dl",
    { class: "facts", id },
    rows.filter(([, value]) => value !== undefined && value !== null && value !== "").flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, value)]),
  );
}

function place(p) {
  return p ? `${p.postalCode} ${p.country}` : "—";
}

/** The request the instance was started with, as the people of that workflow read it. */
function businessSummary(data) {
  const input = data.input || {};
  if (data.taskId) {
    const task = input.task || {};
    return [
      ["Order", el("a", { href: instanceLink(`maintenance-${data.businessId}`) }, data.businessId)],
      ["Task", task.taskId],
      ["Work", task.description],
      ["Parts", (task.parts || []).map((p) => `${p.partNumber} × ${p.quantity}`).join(", ") || "none"],
    ];
  }
  if (data.workflow === "claim") {
    const claimant = input.claimant || {};
    return [
      ["Claimant", `${claimant.name || "—"} <${claimant.email || "—"}>`],
      ["Policy", input.policyNumber],
      ["Amount", `${input.amount} ${input.currency}`],
      ["Loss date", input.lossDate],
      ["Description", input.description],
      ["Documents", (input.documents || []).map((d) => `${d.documentId} (${words(d.kind)})`).join(", ") || "none"],
    ];
  }
  if (data.workflow === "shipment") {
    const window = input.pickupWindow || {};
    return [
      ["From", place(input.origin)],
      ["To", place(input.destination)],
      ["Pickup window", `${when(window.start)} – ${when(window.end)}`],
      ["Load", `${input.pallets} pallets, ${input.weightKg} kg`],
      ["Carriers asked", (input.carriers || ["all configured"]).join(", ")],
    ];
  }
  return [
    ["Aircraft", `${input.tailNumber} (${input.aircraftType})`],
    ["Requested by", input.requestedBy],
    ["Tasks", (input.tasks || []).map((t) => `${t.taskId}: ${t.description}`).join("\n")],
  ];
}

/** Stage details from the custom status: reasons, missing documents, the lock it waits for. */
function stageDetails(data) {
  const custom = data.customStatus || {};
  const lock = custom.lock;
  return [
    ["Stage", el("span", { id: "stage", class: "stage" }, words(data.stage))],
    ["Waits for", data.waitingFor.length ? data.waitingFor.map(words).join(", ") : "nothing"],
    ["Since", when(custom.since)],
    ["Escalated", custom.escalated ? el("span", { class: "badge escalated" }, "Escalated · overdue") : null],
    ["Why", (custom.reasons || []).join("; ")],
    ["Missing documents", (custom.missingDocuments || []).join(", ")],
    ["Reminders sent", custom.reminders || null],
    ["Carrier", custom.carrier],
    ["Lock", lock ? `${lock.resource}: held by ${lock.holder}, place ${lock.position} in the queue` : null],
    ["Runtime status", el("span", { id: "runtime-status", class: `status status-${data.runtimeStatus}` }, data.runtimeStatus)],
    ["Created", when(data.createdTime)],
    ["Last updated", when(data.lastUpdatedTime)],
  ];
}

/** The lock resources this instance touched (from its timeline) or waits for now. */
function lockResources(data) {
  const names = new Set(data.timeline.spans.filter((s) => s.kind === "lock").map((s) => s.name));
  const lock = (data.customStatus || {}).lock;
  if (lock && lock.resource) names.add(lock.resource);
  return [...names];
}

async function lockView(resource, instanceId) {
  const lock = await get(`/locks/${encodeURIComponent(resource)}`);
  const who = (owner) => (owner === instanceId ? `${owner} (this instance)` : el("a", { href: instanceLink(owner) }, owner));
  return el(
    "div",
    { class: "lock", "data-resource": resource },
    el("h3", {}, resource),
    facts([
      ["Holder", lock.holder ? who(lock.holder) : "free"],
      ["Lease until", lock.holder ? when(lock.leaseExpiresAt) : null],
      ["Queue", lock.queue.length ? el("ol", {}, lock.queue.map((owner) => el("li", {}, who(owner)))) : "nobody waits"],
    ]),
  );
}

async function tasksWaitingForParts(data) {
  if (data.workflow !== "maintenance" || data.taskId || !data.waitingFor.includes("PartsReceived")) return [];
  const order = await get(`/maintenance-orders/${encodeURIComponent(data.businessId)}`);
  return order.tasks.filter((t) => t.waitingFor.includes("PartsReceived")).map((t) => t.taskId);
}

function taskLinks(data) {
  if (data.workflow !== "maintenance" || data.taskId) return null;
  const tasks = (data.input && data.input.tasks) || [];
  return el(
    "ul",
    { class: "tasks" },
    tasks.map((t) => el("li", {}, el("a", { href: instanceLink(`${data.id}:task:${t.taskId}`) }, `Task ${t.taskId}`), ` — ${t.description}`)),
  );
}

/** Re-read the instance until it moves on from what the person just acted on. */
function follow(view, instanceId, me, before) {
  let tries = 0;
  const check = async () => {
    tries += 1;
    const now = await get(`/workflows/${encodeURIComponent(instanceId)}/history`);
    const moved = now.stage !== before.stage || now.runtimeStatus !== before.runtimeStatus || now.waitingFor.join() !== before.waitingFor.join();
    if (moved) await renderInstance(view, instanceId, me);
    else if (tries < REFRESH_TRIES) window.setTimeout(check, REFRESH_MS);
  };
  window.setTimeout(check, REFRESH_MS / 4);
}

export async function renderInstance(view, instanceId, me) {
  const data = await get(`/workflows/${encodeURIComponent(instanceId)}/history`);
  const meta = WORKFLOWS[data.workflow];
  const active = ACTIVE.includes(data.runtimeStatus);
  const tasks = active ? await tasksWaitingForParts(data) : [];
  const forms = active
    ? actionForms({
        waitingFor: data.taskId ? [] : data.waitingFor,
        collection: meta.collection,
        businessId: data.businessId,
        me,
        tasks,
        onDone: () => follow(view, instanceId, me, data),
      })
    : [];
  const locks = await Promise.all(lockResources(data).map((r) => lockView(r, instanceId)));
  const title = data.taskId ? `Task ${data.taskId} of order ${data.businessId}` : `${meta.label} ${data.businessId}`;
  show(
    view,
    el("p", {}, el("a", { href: "#/" }, "← Work queue")),
    el("h1", { id: "instance-title" }, title, " ", el("span", { class: `status status-${data.runtimeStatus}` }, data.runtimeStatus)),
    el(
      "div",
      { class: "columns" },
      el(
        "div",
        {},
        el("section", { class: "panel" }, el("h2", {}, "Summary"), facts(businessSummary(data), "summary")),
        el("section", { class: "panel" }, el("h2", {}, "Where it stands"), facts(stageDetails(data), "standing"), taskLinks(data)),
        data.output ? el("section", { class: "panel" }, el("h2", {}, "Outcome"), el("pre", { id: "output" }, JSON.stringify(data.output, null, 2))) : null,
      ),
      el(
        "div",
        {},
        el("section", { class: "panel", id: "actions" }, el("h2", {}, "Actions"), forms.length ? forms : el("p", { class: "muted" }, active ? "Nothing to do here: the instance waits for no one." : "Finished: nothing to do.")),
        el("section", { class: "panel", id: "locks" }, el("h2", {}, "Locks"), locks.length ? locks : el("p", { class: "muted" }, "No lock taken.")),
      ),
    ),
    el(
      "section",
      { class: "panel" },
      el("h2", {}, "History"),
      el("p", { class: "legend muted" }, "Bars run from scheduled to completed; ✕ marks a failed attempt (#2, #3: retries); grey bars are timers, amber lock waits, green locks held; ◆ events with who sent them. Gaps are drawn shorter the longer they are."),
      el("div", { class: "timeline-scroll" }, drawTimeline(data.timeline)),
    ),
  );
}
