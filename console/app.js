// The console's entry point: who is signed in, finding an instance by business id, and the
// views chosen by the address's #fragment (#/ the queue, #/instance/<id> one instance).

import { ApiError, get, signedIn } from "./api.js";
import { el, show } from "./dom.js";
import { renderInstance } from "./instance.js";
import { renderQueue } from "./queue.js";
import { WORKFLOWS, instanceLink } from "./workflows.js";

const view = document.getElementById("view");
const notice = document.getElementById("notice");

export function tell(message) {
  notice.hidden = !message;
  notice.textContent = message || "";
}

async function route() {
  tell("");
  const hash = window.location.hash || "#/";
  const [path, query] = hash.slice(1).split("?");
  const params = new URLSearchParams(query || "");
  try {
    if (path.startsWith("/instance/")) {
      await renderInstance(view, decodeURIComponent(path.slice("/instance/".length)), user);
    } else {
      await renderQueue(view, params);
    }
  } catch (error) {
    show(view, el("p", { class: "error", id: "view-error" }, error instanceof ApiError ? error.message : `The console failed: ${error.message}`));
  }
}

/** Look the id up in every workflow; open the instance when exactly one has it. */
async function find(event) {
  event.preventDefault();
  const businessId = new FormData(event.target).get("id").trim();
  const found = [];
  await Promise.all(
    Object.entries(WORKFLOWS).map(async ([workflow, meta]) => {
      try {
        const status = await get(`/${meta.collection}/${encodeURIComponent(businessId)}`);
        found.push({ workflow, id: status.id });
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 404) throw error;
      }
    }),
  );
  if (found.length === 1) {
    window.location.hash = instanceLink(found[0].id);
  } else if (!found.length) {
    tell(`No claim, shipment or maintenance order has the id ${businessId}.`);
  } else {
    show(
      view,
      el("h1", {}, `Instances with the id ${businessId}`),
      el("ul", {}, found.map((f) => el("li", {}, el("a", { href: instanceLink(f.id) }, `${WORKFLOWS[f.workflow].label} ${businessId}`)))),
    );
  }
}

let user = null;

async function boot() {
  user = await signedIn();
  document.getElementById("who").textContent = user ? `Signed in as ${user}` : "local (not signed in)";
  document.getElementById("find").addEventListener("submit", (event) => find(event).catch((e) => tell(e.message)));
  window.addEventListener("hashchange", route);
  await route();
}

boot();
