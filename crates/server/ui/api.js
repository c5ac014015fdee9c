// api.js — the client for Bunting's HTTP API. URLs are relative to the page, so the UI works
// under FLAGR_WEB_PREFIX (page at /flagr/, API at /flagr/api/v1). Error bodies ({"message"} or
// {"code", "message"}) become an ApiError carrying the server's own words. Every environment
// serves the whole API under its own base path; `api` talks to the one the user chose
// (`useEnvironment`), `apiFor` to any other. With API tokens on, the signed-in token (kept for the
// browser session only) goes with every request as `Authorization: Bearer`, and a 401 is also
// told to `onUnauthorized`'s handler, which sends the user back to the sign-in screen.

const DEFAULT_BASE = 'api/v1';

/** The base path of an environment's API; the default environment's is the unprefixed one. */
function baseOf(environment) {
  return !environment || environment.default ? DEFAULT_BASE : `environments/${encodeURIComponent(environment.key)}/api/v1`;
}

/** The base path `api` sends to: the chosen environment's. */
let base = DEFAULT_BASE;

/** Sends every later `api` request to `environment`'s base path (null: the default one). */
export function useEnvironment(environment) {
  base = baseOf(environment);
}

/** The page's address without credentials (fetch refuses URLs holding a user:password@). */
function pageUrl() {
  return `${location.origin}${location.pathname}`;
}

const TOKEN_KEY = 'bunting.token';

/** The token the user signed in with (null: none). */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Sends `secret` with every later request (null: none). */
export function useToken(secret) {
  if (secret) sessionStorage.setItem(TOKEN_KEY, secret);
  else sessionStorage.removeItem(TOKEN_KEY);
}

let unauthorized = () => {};

/** Calls `handler(error)` on every 401 the server answers. */
export function onUnauthorized(handler) {
  unauthorized = handler;
}

export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function request(root, method, path, body) {
  const init = { method, headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const secret = token();
  if (secret) init.headers.Authorization = `Bearer ${secret}`;
  let response;
  try {
    response = await fetch(new URL(root + path, pageUrl()), init);
  } catch (error) {
    throw new ApiError(0, `Cannot reach the server (${error.message}). Is it running?`);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, errorMessage(response, data), data?.code);
    if (response.status === 401) unauthorized(error);
    throw error;
  }
  return data;
}

function errorMessage(response, data) {
  if (data && typeof data === 'object' && typeof data.message === 'string') return data.message;
  if (typeof data === 'string' && data.trim()) return data.trim();
  return `${response.status} ${response.statusText || 'error'}`;
}

/** A client sending to the base path `root()` answers at the time of each request. */
function client(root) {
  return {
    get: (path) => request(root(), 'GET', path),
    post: (path, body = {}) => request(root(), 'POST', path, body),
    put: (path, body = {}) => request(root(), 'PUT', path, body),
    delete: (path) => request(root(), 'DELETE', path),
  };
}

/** The chosen environment's API. */
export const api = client(() => base);

/** The API of `environment` (null: the default one), whichever is chosen. */
export function apiFor(environment) {
  const root = baseOf(environment);
  return client(() => root);
}

/** A query string from the given parameters, leaving out empty ones: `?a=1&b=x`. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** The absolute URL of an API path in the chosen environment, for copy-paste examples (curl). */
export function apiUrl(path) {
  return new URL(base + path, pageUrl()).href;
}
