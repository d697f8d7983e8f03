// The console's entry point: who is signed in (and signing in and out where App Service
// Authentication is in front), finding an instance by business id, and the views chosen by
// the address's #fragment (#/ the queue, #/instance/<id> one instance).

import { ApiError, get, signInAddress, signOutAddress, whoAmI } from "./api.js";
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
      await renderInstance(view, decodeURIComponent(path.slice("/instance/".length)), me);
    } else {
      await renderQueue(view, params);
    }
  } catch (error) {
    if (error instanceof ApiError && error.status === 401 && (platform || error.signInRequired)) {
      showSignIn();
      return;
    }
    show(view, el("p", { class: "error", id: "view-error" }, error instanceof ApiError ? error.message : `The console failed: ${error.message}`));
  }
}

/** The API refuses whoever is not signed in: say so, and offer the platform's sign-in. */
function showSignIn() {
  showAccount("Not signed in", "Sign in", signInAddress());
  show(
    view,
    el("h1", {}, "Sign in to use the console"),
    el("p", {}, "The console reads and acts on claims, shipments and maintenance orders as you, so the app needs to know who you are."),
    el("p", {}, el("a", { id: "sign-in", class: "button", href: signInAddress() }, "Sign in")),
  );
}

/** The header's account corner: who is in, and the link to sign in or out (if any). */
function showAccount(who, linkText, address) {
  document.getElementById("who").textContent = who;
  const link = document.getElementById("sign");
  link.hidden = !linkText;
  link.textContent = linkText || "";
  if (address) link.setAttribute("href", address);
  else link.removeAttribute("href");
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

let me = null;
let platform = false;

async function boot() {
  ({ me, platform } = await whoAmI());
  if (me && me.signedIn) {
    const roles = me.roles.length ? me.roles.join(", ") : "no roles";
    showAccount(`Signed in as ${me.name} (${roles})`, "Sign out", signOutAddress());
  } else showAccount(platform ? "Not signed in" : "local (not signed in)");
  document.getElementById("find").addEventListener("submit", (event) => find(event).catch((e) => tell(e.message)));
  window.addEventListener("hashchange", route);
  if (!me && platform) showSignIn();
  else await route();
}

boot();
