// The forms people act with: only those the instance waits for now and the caller's roles allow
// (`GET /api/me`), each posting to the app's existing route; an action withheld says which role
// it needs. Signed-in people are recorded by the platform, so no actor is sent for them;
// otherwise the form asks who acts. Errors show the problem+json detail and the fields named.

import { ApiError, act } from "./api.js";
import { el } from "./dom.js";

const DOCUMENT_KINDS = ["invoice", "photo", "police_report", "estimate"];

function field(label, input) {
  return el("label", { class: "field" }, el("span", {}, label), input);
}

function text(name, attrs) {
  return el("input", { name, type: "text", ...attrs });
}

/** Each event a stage can wait for: the form's title, its route suffix and its fields. */
function forms(tasks) {
  return {
    ClaimDecision: {
      title: "Decide the claim",
      path: "decision",
      fields: () => [
        field("Decision", el("select", { name: "decision" }, el("option", { value: "approve" }, "Approve"), el("option", { value: "reject" }, "Reject"))),
        field("Comment", el("textarea", { name: "comment", rows: 2, maxlength: 2000 })),
      ],
      body: (data) => ({ decision: data.get("decision"), comment: data.get("comment") || null }),
    },
    DocumentsSubmitted: {
      title: "Add the missing documents",
      path: "documents",
      fields: () => [
        field("Document id", text("documentId", { required: true, pattern: "[A-Za-z0-9_\\-]{1,64}" })),
        field("Kind", el("select", { name: "kind" }, DOCUMENT_KINDS.map((k) => el("option", { value: k }, k.replace("_", " "))))),
        field("Link to the file", el("input", { name: "url", type: "url", required: true })),
      ],
      body: (data) => ({ documents: [{ documentId: data.get("documentId"), kind: data.get("kind"), url: data.get("url") }] }),
    },
    PickupConfirmed: {
      title: "Confirm the pickup",
      path: "pickup",
      fields: () => [field("Note", text("note", { maxlength: 500 }))],
      body: (data) => ({ note: data.get("note") || null }),
    },
    Delivered: {
      title: "Confirm the delivery",
      path: "delivery",
      fields: () => [field("Received by", text("receivedBy", { maxlength: 200 }))],
      body: (data) => ({ receivedBy: data.get("receivedBy") || null }),
    },
    Cancel: {
      title: "Cancel the shipment",
      path: "cancel",
      danger: true,
      fields: () => [field("Reason", text("reason", { maxlength: 500 }))],
      body: (data) => ({ reason: data.get("reason") || null }),
    },
    PartsReceived: {
      title: "Parts received",
      path: "parts-received",
      fields: () => [
        field("For task", el("select", { name: "taskId" }, tasks.map((t) => el("option", { value: t }, t)))),
      ],
      body: (data) => ({ taskId: data.get("taskId") }),
    },
    ReturnToServiceApproval: {
      title: "Return to service",
      path: "approval",
      fields: () => [
        field("Decision", el("select", { name: "approved" }, el("option", { value: "true" }, "Approve return to service"), el("option", { value: "false" }, "Refuse"))),
        field("Comment", el("textarea", { name: "comment", rows: 2, maxlength: 1000 })),
      ],
      body: (data) => ({ approved: data.get("approved") === "true", comment: data.get("comment") || null }),
    },
  };
}

function problemText(error) {
  if (!(error instanceof ApiError)) return `The request failed: ${error.message}`;
  const fields = error.errors.map((e) => `${e.field}: ${e.message}`);
  return [error.message, ...fields].join("\n");
}

function actionForm(event, spec, collection, businessId, signedIn, onDone) {
  const result = el("p", { class: "result", role: "status" });
  const form = el(
    "form",
    { class: `action${spec.danger ? " danger" : ""}`, "data-event": event, id: `action-${event}` },
    el("h3", {}, spec.title),
    spec.fields(),
    signedIn ? null : field("Your name (recorded as who acted)", text("actor", { required: true, maxlength: 200 })),
    el("button", { type: "submit" }, spec.title),
    result,
  );
  form.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const data = new FormData(form);
    const body = spec.body(data);
    if (!signedIn && data.get("actor")) body.actor = data.get("actor");
    const button = form.querySelector("button");
    button.disabled = true;
    result.className = "result";
    result.textContent = "Sending…";
    try {
      await act(`/${collection}/${encodeURIComponent(businessId)}/${spec.path}`, body);
      result.textContent = "Accepted. The page follows the instance as it moves on.";
      onDone();
    } catch (error) {
      result.className = "result error";
      result.textContent = problemText(error);
      button.disabled = false;
    }
  });
  return form;
}

/** Why the caller is not offered `spec`: the roles of which it needs one. */
function withheld(event, spec, right) {
  const needs = right && right.needs.length ? right.needs.join(" or ") : "a role of this app";
  return el("p", { class: "withheld", "data-event": event, id: `withheld-${event}` }, `${spec.title}: needs the role ${needs}.`);
}

/** The forms for what the instance waits for now and `me` may do (nothing when it is not
 * active); a note naming the role for each action the caller may not take. */
export function actionForms({ waitingFor, collection, businessId, me, tasks, onDone }) {
  const specs = forms(tasks);
  const signedIn = Boolean(me && me.signedIn);
  return waitingFor
    .filter((event) => specs[event])
    .map((event) => {
      const right = me && me.actions ? me.actions[event] : null;
      if (right && !right.allowed) return withheld(event, specs[event], right);
      return actionForm(event, specs[event], collection, businessId, signedIn, onDone);
    });
}
