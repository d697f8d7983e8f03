// The app's JSON API, as the console calls it: the key the page was opened with, problem+json
// errors turned into messages people can act on, an Idempotency-Key on every action.

const key = new URLSearchParams(window.location.search).get("code");

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `The app answered ${status}.`);
    this.status = status;
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
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
  if (!response.ok) throw new ApiError(response.status, data || {});
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

/** Who is signed in through App Service authentication, or null when no one is (or locally). */
export async function signedIn() {
  try {
    const response = await fetch("/.auth/me", { credentials: "same-origin" });
    if (!response.ok) return null;
    const entries = await response.json();
    const entry = Array.isArray(entries) ? entries[0] : null;
    if (!entry) return null;
    const claims = entry.user_claims || [];
    const claim = (type) => (claims.find((c) => c.typ === type) || {}).val;
    return entry.user_id || claim("name") || claim("preferred_username") || null;
  } catch {
    return null;
  }
}
