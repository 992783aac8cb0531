// Wires the views to the server: the only module that knows both. Views own their regions and
// speak through events; api.js is the only door to fetch; the draft is data (state.js).

import { api, ApiError } from "./api.js";
import { h, whileBusy } from "./dom.js";
import { FilesPanel } from "./files.js";
import { ForwardPanel } from "./forward.js";
import { HistogramGrid } from "./histograms.js";
import { HistoryPanel } from "./history.js";
import { InitPanel } from "./initpanel.js";
import { LayerForm } from "./layerform.js";
import { NetworkView } from "./network.js";
import { Palette } from "./palette.js";
import { ParamTable } from "./params.js";
import { Draft, GUIDE_SPEC, sameSpec } from "./state.js";
import { TensorView } from "./tensor.js";
import { TopBar } from "./topbar.js";

const $ = (id) => document.getElementById(id);
// Unbuilt edits are kept per model (and one for a new network), so switching never loses them.
const draftKey = (modelId) => `layerlab.draft.${modelId || "new"}`;
const savedDraft = (modelId) => JSON.parse(localStorage.getItem(draftKey(modelId)) || "null");

const app = { model: null, viewing: null, catalog: [], params: null, checkSeq: 0 };
const draft = new Draft();
const topbar = new TopBar($("topbar"), draft);
const palette = new Palette($("palette"));
const network = new NetworkView($("network"), draft);
const layerForm = new LayerForm($("tab-layer"), draft);
const initPanel = new InitPanel($("tab-init"));
const paramTable = new ParamTable($("tab-params"));
const histograms = new HistogramGrid($("tab-histograms"));
const tensor = new TensorView($("tab-tensor"));
const forward = new ForwardPanel($("tab-run"));
const files = new FilesPanel($("tab-files"));
const history = new HistoryPanel($("tab-history"));

// --- feedback --------------------------------------------------------------------------------

function toast(message, kind = "info") {
  const node = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status", text: message });
  $("toasts").append(node);
  while ($("toasts").childElementCount > 3) $("toasts").firstElementChild.remove();  // the newest three
  setTimeout(() => node.remove(), kind === "error" ? 9000 : 4000);
}

async function attempt(fn, onError = null) {
  try {
    return await fn();
  } catch (error) {
    if (onError && error instanceof ApiError && onError(error)) return undefined;
    toast(error.message || String(error), "error");
    return undefined;
  }
}

// --- tabs ------------------------------------------------------------------------------------

const tabs = [...document.querySelectorAll("[role=tab]")];

function showTab(name) {
  for (const tab of tabs) {
    const on = tab.dataset.tab === name;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    $(`tab-${tab.dataset.tab}`).hidden = !on;
  }
  refreshActive();
}

for (const tab of tabs) {
  tab.addEventListener("click", () => showTab(tab.dataset.tab));
  tab.addEventListener("keydown", (event) => {
    const here = tabs.indexOf(tab);
    const target = { ArrowRight: here + 1, ArrowLeft: here - 1, Home: 0, End: tabs.length - 1 }[event.key];
    if (target === undefined) return;
    event.preventDefault();
    const next = tabs[(target + tabs.length) % tabs.length];
    next.focus();
    showTab(next.dataset.tab);
  });
}

const activeTab = () => tabs.find((t) => t.getAttribute("aria-selected") === "true")?.dataset.tab;

// --- the draft -------------------------------------------------------------------------------

let checkTimer = null;
draft.addEventListener("change", () => {
  localStorage.setItem(draftKey(app.model && app.model.id), JSON.stringify(draft.toSpec()));
  clearTimeout(checkTimer);
  checkTimer = setTimeout(checkDraft, 150);
  network.render();
  layerForm.render();
  showStatus();
});

async function checkDraft() {
  const seq = (app.checkSeq += 1);
  const uids = new Map([...draft.walk()].map((p) => [p.address, p.node.uid]));
  const check = await attempt(() => api.check(draft.toSpec()));
  if (!check || seq !== app.checkSeq) return;
  network.show(check, uids);
  layerForm.show(layerForm.uid, check.shape_error ? [] : check.errors);
  document.body.dataset.checked = check.ok ? "ok" : "error";
}

function showStatus() {
  const modified = app.model && !sameSpec(app.model.spec, draft.toSpec());
  topbar.showModel(app.model, { modified, viewing: app.viewing });
}

palette.addEventListener("add", (event) => {
  const item = app.catalog.find((t) => t.type === event.detail);
  const node = draft.add(event.detail, item ? item.example : {}, { afterUid: network.selected });
  network.select(node.uid);
});
network.addEventListener("select", (event) => { layerForm.show(event.detail); if (event.detail) showTab("layer"); });
network.addEventListener("tie", (event) => {
  const tie = draft.tie(event.detail);
  if (tie) network.select(tie.uid);
});
network.addEventListener("remove", (event) => {
  const ties = draft.remove(event.detail);
  if (network.selected === event.detail) network.select(null);
  if (ties) toast(`Removed ${ties} tied reference${ties > 1 ? "s" : ""} to it as well.`);
});
network.addEventListener("drop-new", (event) => {
  const { type, ...where } = event.detail;
  const item = app.catalog.find((t) => t.type === type);
  network.select(draft.add(type, item ? item.example : {}, where).uid);
});
network.addEventListener("drop-move", (event) => {
  const { uid, ...where } = event.detail;
  draft.move(uid, where);
});

// --- models ----------------------------------------------------------------------------------

async function refreshModels() {
  topbar.showModels(await api.models(), app.model && app.model.id);
}

/**
 * Show `model` (null: a new network) with `spec` as its draft; without one, the model's own unbuilt
 * edits if it has any, else its spec. `push` adds a browser history entry (Back returns here).
 */
function open(model, { spec = null, push = false } = {}) {
  app.model = model;  // first: the draft that loads next is saved under this model
  app.viewing = null;
  const url = new URL(window.location.href);
  if (model) url.searchParams.set("model", model.id); else url.searchParams.delete("model");
  url.hash = "";
  if (push && url.href !== window.location.href) window.history.pushState(null, "", url);
  else window.history.replaceState(null, "", url);
  draft.load(spec || savedDraft(model && model.id) || (model ? model.spec : GUIDE_SPEC));
  initPanel.setModel(model);
  forward.setInputShape(model ? model.spec.input_shape : null);
  setReadOnly(false);
  showStatus();
  return refreshModelViews();
}

/** Viewing an old version: the views show it, and nothing can change the model until back to current. */
function setReadOnly(readOnly) {
  initPanel.setReadOnly(readOnly);
  tensor.setReadOnly(readOnly);
  files.setReadOnly(readOnly);
}

async function refreshModelViews() {
  const model = app.model;
  document.body.dataset.version = model ? String(model.version) : "";
  const ready = model && model.materialized;
  app.params = ready ? await api.params(model.id, app.viewing || undefined) : null;
  paramTable.show(app.params);
  tensor.setParams(app.params);
  files.setLinks(model && ready ? fileLinks(app.viewing || model.version) : []);
  history.show(model ? await api.versions(model.id) : null, model, app.viewing, (v) => (ready ? fileLinks(v) : []));
  await refreshModels();
  refreshActive();
}

function fileLinks(version) {
  const name = (app.model.name || "network").replace(/[^\w.-]+/g, "-");
  return ["pt", "safetensors"].map((format) => ({
    href: api.fileUrl(app.model.id, format, version), text: `Download .${format}`,
    filename: `${name}-v${version}.${format}` }));
}

function refreshActive() {
  const tab = activeTab();
  if (tab === "histograms") histograms.request();
  if (tab === "tensor" && app.params && app.params.length) tensor.open();
}

topbar.addEventListener("build", () => attempt(async () => {
  const model = await whileBusy(topbar.build, api.create(draft.toSpec()));
  await open(model, { spec: draft.toSpec(), push: true });
  toast(`Built ${model.name}: ${model.param_count.toLocaleString("en-US")} parameters.`);
}));

topbar.addEventListener("materialize", () => attempt(async () => {
  if (!draft.inputShape) throw new Error("Give an input shape first (the top bar's Input shape).");
  const model = await whileBusy(topbar.materialize, api.materialize(app.model.id, draft.inputShape, app.model.version));
  await open(model, { spec: model.spec });
  toast("Materialized: the lazy layers have their shapes.");
}));

topbar.addEventListener("open", (event) => attempt(async () => {
  await open(event.detail ? await api.model(event.detail) : null, { push: true });
}));

topbar.addEventListener("share", () => attempt(async () => {
  const url = new URL(window.location.href);
  url.search = "";
  url.hash = `spec=${btoa(unescape(encodeURIComponent(JSON.stringify(draft.toSpec()))))}`;
  await copy(url.toString());
  toast("Spec link copied: it opens this network as a draft.");
}));

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    window.prompt("Copy:", text);
  }
}

// --- initialize, explore, run ----------------------------------------------------------------

initPanel.addEventListener("apply", (event) => attempt(async () => {
  const { request, button } = event.detail;
  const model = await whileBusy(button, api.init(app.model.id, request, app.model.version));
  initPanel.showErrors([]);
  app.model = model;
  showStatus();
  const hits = model.report.applied.reduce((n, step) => n + step.params.length, 0);
  toast(`Initialized ${hits} tensor${hits === 1 ? "" : "s"} (seed ${model.report.seed}): version ${model.version}.`);
  showTab("histograms");
  await refreshModelViews();
}, (error) => {
  if (!error.fieldErrors.length) return false;
  initPanel.showErrors(error.fieldErrors);
  return true;
}));

let histogramSeq = 0;
histograms.addEventListener("request", (event) => attempt(async () => {
  const seq = (histogramSeq += 1);
  if (!app.model || !app.model.materialized) { histograms.clearPlots("Build and materialize the network to see histograms."); return; }
  const { bins, shared, overlay } = event.detail;
  const version = app.viewing || app.model.version;
  const query = { bins, version };
  if (shared && app.params) {
    const stats = app.params.map((p) => p.stats).filter((s) => s && s.count);
    query.lo = Math.min(...stats.map((s) => s.min));
    query.hi = Math.max(...stats.map((s) => s.max));
    if (!(query.lo < query.hi)) { query.lo -= 0.5; query.hi += 0.5; }
  }
  const current = await api.histograms(app.model.id, query);
  const previous = overlay && version > 1 ? await api.histograms(app.model.id, { ...query, version: version - 1 })
    .catch(() => null) : null;
  if (seq === histogramSeq) histograms.show(current, previous, version);  // the latest request wins
}));

paramTable.addEventListener("open", (event) => { tensor.choose(event.detail); showTab("tensor"); });

let tensorSeq = 0;
tensor.addEventListener("load", (event) => attempt(async () => {
  const { name } = event.detail;
  const entry = tensor.entry(name);
  if (!entry) return;
  const seq = (tensorSeq += 1);
  const win = tensor.window(entry.shape);
  const page = await api.values(app.model.id, name, win.offset, win.limit, app.viewing || undefined);
  if (seq === tensorSeq) tensor.show(name, page);  // a later request wins, whatever answers first
}));

tensor.addEventListener("edit", (event) => attempt(async () => {
  const { name, index, value, busy } = event.detail;
  const result = await busy(api.setElement(app.model.id, name, index, value, app.model.version));
  app.model = await api.model(app.model.id);
  showStatus();
  await refreshModelViews();
  tensor.showValue(`${result.name}[${index.join(", ")}] = ${result.value}` +
    (result.tied.length ? `; ${result.tied.join(", ")} shows it too (the same tensor).` : "."));
}));

forward.addEventListener("run", (event) => attempt(async () => {
  if (!app.model) throw new Error("Build the network first.");
  const { body, button } = event.detail;
  forward.show(await whileBusy(button, api.forward(app.model.id, body)), body.input !== undefined);
}));

// --- files and history -----------------------------------------------------------------------

files.addEventListener("upload", (event) => {
  const { file, strict, progress, done } = event.detail;
  attempt(async () => {
    if (!app.model) throw new Error("Build the network first.");
    const report = await api.upload(app.model.id, file, strict, progress);
    files.showReport(report);
    app.model = await api.model(app.model.id);
    showStatus();
    await refreshModelViews();
  }, (error) => {
    if (error.status === 422 && error.detail && error.detail.missing) { files.showReport(error.detail, true); return true; }
    files.showError(`Not loaded (the model is unchanged): ${error.message}`);
    return false;
  }).finally(done);
});

files.addEventListener("inspect", (event) => attempt(async () => {
  if (event.detail) files.showTree(await api.inspect(event.detail));
}));

files.addEventListener("export-spec", () => {
  const blob = new Blob([JSON.stringify(draft.toSpec(), null, 2)], { type: "application/json" });
  const link = h("a", { href: URL.createObjectURL(blob), download: `${draft.name || "network"}.json` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
});

files.addEventListener("show-code", () => attempt(async () => {
  if (!app.model) throw new Error("Build the network first: the code is generated from the built model.");
  files.showCode(await api.code(app.model.id));
}));
files.addEventListener("copy-code", (event) => attempt(async () => { await copy(event.detail); toast("Code copied."); }));

files.addEventListener("import-spec", (event) => attempt(async () => {
  await open(null, { spec: JSON.parse(await event.detail.text()), push: true });
  toast("Spec imported as a draft: Build to create it.");
}));

files.addEventListener("import-code", (event) => attempt(async () => {
  const spec = await api.fromCode(event.detail);
  await open(null, { spec, push: true });
  if (!spec.input_shape) toast("The code has no example input: give the input shape in the top bar.");
  toast("Code read (nothing was executed): Build to create it.");
}));

history.addEventListener("view", (event) => attempt(async () => {
  app.viewing = event.detail;
  setReadOnly(Boolean(app.viewing));
  showStatus();
  await refreshModelViews();
}));

history.addEventListener("restore", (event) => attempt(async () => {
  const model = await api.restore(app.model.id, event.detail, app.model.version);
  await open(model, { spec: model.spec });
  toast(`Restored version ${event.detail} as version ${app.model.version}.`);
}));

// --- start -----------------------------------------------------------------------------------

async function openFromUrl() {
  const url = new URL(window.location.href);
  const modelId = url.searchParams.get("model");
  if (modelId) {
    const model = await api.model(modelId).catch(() => null);
    if (model) return open(model);
    toast(`There is no model ${modelId} any more.`, "error");
    return open(null);
  }
  if (url.hash.startsWith("#spec=")) {
    return open(null, { spec: JSON.parse(decodeURIComponent(escape(atob(url.hash.slice(6))))) });
  }
  return open(null);
}

window.addEventListener("popstate", () => attempt(openFromUrl));

async function start() {
  const [catalog, inits] = await Promise.all([api.layers(), api.inits()]);
  app.catalog = catalog;
  palette.show(catalog);
  layerForm.setCatalog(catalog);
  initPanel.setSchemes(inits);
  await openFromUrl();
  showTab("layer");
  document.body.dataset.ready = "true";
}

attempt(start);
