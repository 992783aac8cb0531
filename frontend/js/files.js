// Files: download the state dict (.pt or .safetensors), upload one (drop or pick, with progress and
// the server's report), inspect any tensor file, export the spec or PyTorch code, import either.

import { clear, field, h } from "./dom.js";

export class FilesPanel extends EventTarget {
  constructor(root) {
    super();
    this.root = root;
    this.downloads = h("div", { class: "actions" });
    this.strict = h("input", { type: "checkbox", checked: true });
    this.file = h("input", { type: "file", accept: ".pt,.pth,.params,.safetensors,*/*",
      onchange: () => this.upload(this.file.files[0]) });
    this.progress = h("progress", { max: "1", value: "0", hidden: true, "aria-label": "Upload progress" });
    this.report = h("div", { class: "report", role: "status" });
    this.drop = h("div", { class: "dropzone file-drop", tabindex: "0" },
      "Drop a .pt or .safetensors file here to load it into the model");
    for (const type of ["dragover", "dragenter"]) {
      this.drop.addEventListener(type, (e) => { e.preventDefault(); this.drop.classList.add("drop-target"); });
    }
    this.drop.addEventListener("dragleave", () => this.drop.classList.remove("drop-target"));
    this.drop.addEventListener("drop", (e) => {
      e.preventDefault();
      this.drop.classList.remove("drop-target");
      if (e.dataTransfer.files.length) this.upload(e.dataTransfer.files[0]);
    });
    this.inspectFile = h("input", { type: "file", onchange: () => this.emit("inspect", this.inspectFile.files[0]) });
    this.tree = h("div", { class: "tree" });
    this.code = h("pre", { class: "code", tabindex: "0" });
    this.copy = h("button", { type: "button", onclick: () => this.emit("copy-code", this.code.textContent) }, "Copy code");
    this.specFile = h("input", { type: "file", accept: ".json,application/json",
      onchange: () => this.emit("import-spec", this.specFile.files[0]) });
    this.source = h("textarea", { rows: 6, spellcheck: "false",
      placeholder: "shared = nn.LazyLinear(8)\nnet = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), shared, shared)" });
    this.sourceField = field("PyTorch code to import", this.source);
    clear(root, h("h2", { text: "Files" }),
      h("section", {}, h("h3", { text: "Parameters" }), this.downloads,
        field("Upload parameters", this.file), field("Strict (every key, every shape)", this.strict),
        this.drop, this.progress, this.report),
      h("section", {}, h("h3", { text: "Inspect any tensor file" }), field("Inspect a file", this.inspectFile), this.tree),
      h("section", {}, h("h3", { text: "Export" }), h("div", { class: "actions" },
        h("button", { type: "button", onclick: () => this.emit("export-spec") }, "Download spec JSON"),
        h("button", { type: "button", onclick: () => this.emit("show-code") }, "Show PyTorch code"), this.copy),
      this.code),
      h("section", {}, h("h3", { text: "Import" }), field("Spec file (JSON)", this.specFile), this.sourceField,
        h("button", { type: "button", onclick: () => this.emit("import-code", this.source.value) }, "Import code")));
  }

  setReadOnly(readOnly) {
    this.file.disabled = readOnly;
    this.drop.classList.toggle("disabled", readOnly);
    this.readOnly = readOnly;
  }

  emit(type, detail = null) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  upload(file) {
    if (!file || this.readOnly) return;
    this.progress.hidden = false;
    this.progress.value = 0;
    this.file.disabled = true;
    this.emit("upload", { file, strict: this.strict.checked, progress: (f) => { this.progress.value = f; },
      done: () => { this.file.disabled = false; this.file.value = ""; } });
  }

  /** Download links for the model (at `version` when viewing an old one). */
  setLinks(links) {
    clear(this.downloads, links.map(({ href, text, filename }) => h("a", { class: "button", href, download: filename, text })));
  }

  showReport(report, failed = false) {
    const list = (title, items, text = (x) => x) => (items && items.length
      ? h("div", {}, h("strong", { text: `${title} (${items.length}): ` }), items.map(text).join(", ")) : null);
    clear(this.report,
      h("p", { class: failed ? "field-error" : "ok",
        text: failed ? (report.msg || "The file was not loaded; the model is unchanged.")
          : `Loaded ${report.loaded.length} tensors from the ${report.format} file: now version ${report.version}.` }),
      list("missing", report.missing), list("unexpected", report.unexpected),
      list("mismatched", report.mismatched, (m) => `${m.key} expected [${m.expected}] got [${m.got}]`),
      list("converted", report.converted, (c) => `${c.key} ${c.from}→${c.to}`),
      list("tied keys that differ", report.tied_conflicts, (c) => c.keys.join(" / ")));
  }

  showError(message) {
    clear(this.report, h("p", { class: "field-error", text: message }));
  }

  showTree(result) {
    const node = (key, item) => {
      const label = item.kind === "tensor"
        ? `${key}: tensor [${item.shape.join(", ")}] ${item.dtype} · mean ${fmt(item.stats.mean)} · std ${fmt(item.stats.std)}`
        : item.kind === "scalar" ? `${key}: ${JSON.stringify(item.value)}` : `${key}: ${item.kind}`;
      const children = item.items ? (Array.isArray(item.items) ? item.items.map((c, i) => node(String(i), c))
        : Object.entries(item.items).map(([k, c]) => node(k, c))) : [];
      return h("li", {}, label, children.length ? h("ul", {}, children) : null);
    };
    clear(this.tree, h("p", { text: `${result.format} file` }), h("ul", {}, node("root", result.root)));
  }

  showCode(text) {
    this.code.textContent = text;
  }
}

function fmt(x) {
  return x === null || x === undefined ? "–" : Number(x).toPrecision(4);
}
