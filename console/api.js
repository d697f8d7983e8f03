// The app's JSON API, as the console calls it: the signed-in session's cookie (never a key),
// problem+json errors turned into messages people can act on, an Idempotency-Key on every action.

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
 * Who the app sees calling (`GET /api/me`): `{ me }` with the caller's name, roles and the
 * actions they may take, or `{ me: null, platform: true }` when the platform wants a sign-in
 * first (App Service Authentication, or the app in Azure, answers 401).
 */
export async function whoAmI() {
  try {
    return { me: await get("/me"), platform: false };
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return { me: null, platform: true };
    throw error;
  }
}

/** Where the console lives, with the view it shows. */
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
