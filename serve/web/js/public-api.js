// Requests of the public pages: plain fetches with no key and no cookies, so a tip sent from
// a phone that also holds an officer's key is not tied to that key. A 429 carries the
// service's Retry-After (seconds) so the page can say how long to wait.

import { ApiError, NetworkError } from "./api.js";

export class RateLimited extends ApiError {
  constructor(status, body, retryAfter) {
    super(status, body);
    this.retryAfter = retryAfter;
  }
}

export async function publicRequest(method, path, { body, timeoutMs = 60000 } = {}) {
  const headers = { Accept: "application/json" };
  let payload = body;
  if (body && !(body instanceof FormData)) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: payload,
      credentials: "omit",
      referrerPolicy: "no-referrer",
      signal: controller.signal,
    });
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
    if (response.status === 429) {
      const wait = Number(response.headers.get("Retry-After")) || 60;
      throw new RateLimited(429, data, wait);
    }
    throw new ApiError(response.status, data);
  }
  return response.json();
}

export const publicApi = {
  get: (path, opts = {}) => publicRequest("GET", path, opts),
  post: (path, body, opts = {}) => publicRequest("POST", path, { body, ...opts }),
};
