// The only door to the server: every request goes through here.

export class ApiError extends Error {
  constructor(status, detail) {
    super(ApiError.describe(detail));
    this.status = status;
    this.detail = detail;
  }

  /** [{path, msg}] when the server named fields; [] otherwise. */
  get fieldErrors() {
    return (this.detail && Array.isArray(this.detail.errors)) ? this.detail.errors : [];
  }

  static describe(detail) {
    if (typeof detail === "string") return detail;
    if (detail && Array.isArray(detail.errors)) {
      return detail.errors.map((e) => (e.path ? `${e.path}: ${e.msg}` : e.msg)).join("; ");
    }
    if (detail && detail.msg) return detail.msg;
    return JSON.stringify(detail);
  }
}

async function request(method, path, { body, query, headers = {} } = {}) {
  const url = new URL(`/api${path}`, window.location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v === undefined || v === null) continue;
    for (const item of Array.isArray(v) ? v : [v]) url.searchParams.append(k, item);
  }
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(url, init);
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError(response.status, data && data.detail !== undefined ? data.detail : data);
  return data;
}

const ifMatch = (version) => (version ? { "If-Match": `"${version}"` } : {});

export const api = {
  layers: () => request("GET", "/layers"),
  inits: () => request("GET", "/inits"),
  models: () => request("GET", "/models"),
  model: (id) => request("GET", `/models/${id}`),
  create: (spec) => request("POST", "/models", { body: spec }),
  remove: (id) => request("DELETE", `/models/${id}`),
  check: (spec) => request("POST", "/specs/check", { body: spec }),
  fromCode: (code) => request("POST", "/specs/from-code", { body: { code } }),
  materialize: (id, inputShape, version) =>
    request("POST", `/models/${id}/materialize`, { body: { input_shape: inputShape }, headers: ifMatch(version) }),
  init: (id, body, version) => request("POST", `/models/${id}/init`, { body, headers: ifMatch(version) }),
  params: (id, version) => request("GET", `/models/${id}/params`, { query: { version } }),
  histograms: (id, query) => request("GET", `/models/${id}/histograms`, { query }),
  values: (id, name, offset, limit, version) =>
    request("GET", `/models/${id}/params/${encodeURIComponent(name)}/values`, { query: { offset, limit, version } }),
  setElement: (id, name, index, value, version) =>
    request("PATCH", `/models/${id}/params/${encodeURIComponent(name)}`,
      { body: { index, value }, headers: ifMatch(version) }),
  forward: (id, body) => request("POST", `/models/${id}/forward`, { body }),
  code: (id) => request("GET", `/models/${id}/code`),
  versions: (id) => request("GET", `/models/${id}/versions`),
  restore: (id, version, current) =>
    request("POST", `/models/${id}/versions/${version}/restore`, { headers: ifMatch(current) }),
  fileUrl: (id, format, version) => {
    const url = new URL(`/api/models/${id}/state_dict/file`, window.location.origin);
    url.searchParams.set("format", format);
    if (version) url.searchParams.set("version", version);
    return url.pathname + url.search;
  },
  upload: (id, file, strict, onProgress) => send("PUT", `/api/models/${id}/state_dict/file?strict=${strict}`, file,
    onProgress),
  inspect: (file, onProgress) => send("POST", "/api/files/inspect", file, onProgress),
};

/** A multipart upload through XMLHttpRequest, the one browser API that reports upload progress. */
function send(method, path, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, path);
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      const data = xhr.response;
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new ApiError(xhr.status, data && data.detail !== undefined ? data.detail : xhr.statusText));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "the upload failed: no answer from the server")));
    const form = new FormData();
    form.append("file", file, file.name || "upload");
    xhr.send(form);
  });
}
