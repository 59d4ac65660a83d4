// Talking to the plantscout service. The API key is entered once and kept in localStorage.

export const KEY_HEADER = "X-API-Key";
const KEY_STORAGE = "plantscout.key";

export class NetworkError extends Error {}

export class ApiError extends Error {
  constructor(status, body) {
    super(describe(status, body));
    this.status = status;
    this.body = body;
    this.code = (body && body.error && body.error.code) || "http_error";
    this.details = (body && body.error && body.error.details) || [];
  }
  // 4xx other than these means "this request will never succeed as it is": do not retry.
  get retryable() {
    return this.status >= 500 || this.status === 408 || this.status === 429;
  }
}

// The service answers {"error": {"code", "message", "details"}}; `code` is stable.
function describe(status, body) {
  const error = body && body.error;
  if (error && typeof error === "object") return error.message || error.code || `HTTP ${status}`;
  return `HTTP ${status}`;
}

export function getKey() {
  return localStorage.getItem(KEY_STORAGE) || "";
}

export function setKey(key) {
  if (key) localStorage.setItem(KEY_STORAGE, key.trim());
  else localStorage.removeItem(KEY_STORAGE);
}

export async function request(
  method,
  path,
  { body, query, timeoutMs = 30000, raw = false, headers: extra = {} } = {},
) {
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== "") params.append(k, v);
    }
    const qs = params.toString();
    if (qs) url += `?${qs}`;
  }
  const headers = { Accept: "application/json", ...extra };
  const key = getKey();
  if (key) headers[KEY_HEADER] = key;
  let payload = body;
  if (body && !(body instanceof FormData) && !(body instanceof Blob)) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let response;
  try {
    response = await fetch(url, { method, headers, body: payload, signal: controller.signal });
  } catch (err) {
    throw new NetworkError(
      err && err.name === "AbortError" ? "timeout" : String(err.message || err),
    );
  } finally {
    clearTimeout(timer);
  }
  if (!response.ok) {
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    throw new ApiError(response.status, data);
  }
  if (raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

export const api = {
  get: (path, query, opts = {}) => request("GET", path, { query, ...opts }),
  post: (path, body, opts = {}) => request("POST", path, { body, ...opts }),
  patch: (path, body, opts = {}) => request("PATCH", path, { body, ...opts }),
};

// A photo behind the API key, as an object URL an <img> can show.
export async function photoUrl(path) {
  const response = await request("GET", path, { raw: true, timeoutMs: 60000 });
  return URL.createObjectURL(await response.blob());
}
