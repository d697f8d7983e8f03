// The app's JSON API, as the console calls it: the key the page was opened with, problem+json
// errors turned into messages people can act on, an Idempotency-Key on every action.

const key = new URLSearchParams(window.location.search).get("code");

export class ApiError extends Error {
  constructor(status, problem, fromApp) {
    super(problem.detail || problem.title || `The app answered ${status}.`);
    this.status = status;
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    // App Service Authentication refuses an unsigned-in caller with a plain-text 401 before
    // the app runs; the app's own 401 is problem+json (the actor field was needed).
    this.signInRequired = status === 401 && !fromApp;
  }
}

async function call(method, path, body, extraHeaders) {
  const headers = { Accept: "application/json", ...extraHeaders };
  if (key) headers["x-functions-key"] = key;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`/api${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text.slice(0, 200) };
  }
  const fromApp = (response.headers.get("Content-Type") || "").includes("json");
  if (!response.ok) throw new ApiError(response.status, data || {}, fromApp);
  return data;
}

/** GET a JSON resource under /api; `query` values that are empty are left out. */
export function get(path, query) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") params.set(name, value);
  }
  const suffix = params.toString() ? `?${params}` : "";
  return call("GET", path + suffix);
}

/** POST an action; a fresh Idempotency-Key per submitted form makes a double submit harmless. */
export function act(path, body) {
  return call("POST", path, body, { "Idempotency-Key": crypto.randomUUID() });
}

/**
 * Who is signed in through App Service Authentication: `{ name }` when someone is,
 * `{ name: null, platform: true }` when the platform is in front but nobody is signed in
 * (`/.auth/me` answers 401 or an empty list), `{ name: null, platform: false }` locally.
 */
export async function signedIn() {
  try {
    const response = await fetch("/.auth/me", { credentials: "same-origin" });
    if (response.status === 401) return { name: null, platform: true };
    if (!response.ok) return { name: null, platform: false };
    const entries = await response.json();
    const entry = Array.isArray(entries) ? entries[0] : null;
    if (!entry) return { name: null, platform: Array.isArray(entries) };
    const claims = entry.user_claims || [];
    const claim = (type) => (claims.find((c) => c.typ === type) || {}).val;
    return { name: entry.user_id || claim("name") || claim("preferred_username") || null, platform: true };
  } catch {
    return { name: null, platform: false };
  }
}

/** Where the console lives, with the query it was opened with (its `code` key) and view. */
function consoleAddress() {
  return `/api/console${window.location.search}${window.location.hash}`;
}

/** The platform's sign-in, coming back to this view of the console afterwards. */
export function signInAddress() {
  return `/.auth/login/aad?${new URLSearchParams({ post_login_redirect_uri: consoleAddress() })}`;
}

/** The platform's sign-out, coming back to the console (which then offers sign-in). */
export function signOutAddress() {
  return `/.auth/logout?${new URLSearchParams({ post_logout_redirect_uri: consoleAddress() })}`;
}
