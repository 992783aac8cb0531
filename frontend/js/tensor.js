// The tensor view: a 1-D or 2-D tensor (or a 2-D slice of a larger one) as a heat map with values on
// hover; click a cell, or type its index, to edit it in place. Tied aliases show beside it.

import { clear, field, h, showFieldError, whileBusy } from "./dom.js";
import { plotConfig, plotly } from "./plots.js";

const MAX_CELLS = 65536;

export class TensorView extends EventTarget {
  constructor(root) {
    super();
    this.root = root;
    this.params = [];
    this.select = h("select", { onchange: () => this.open(this.select.value) });
    this.slice = h("div", { class: "slice" });
    this.index = h("input", { type: "text", size: 10, placeholder: "0, 0" });
    this.value = h("input", { type: "number", step: "any" });
    this.save = h("button", { type: "submit" }, "Set value");
    this.plots = h("div", { class: "tensor-plots" });
    this.note = h("p", { class: "hint" });
    this.result = h("p", { class: "edit-result", role: "status" });
    clear(root, h("h2", { text: "Tensor" }),
      h("div", { class: "controls" }, field("Tensor", this.select), this.slice),
      this.plots, this.note,
      h("form", { class: "controls edit", onsubmit: (e) => { e.preventDefault(); this.submit(); } },
        this.indexField = field("Element index", this.index), this.valueField = field("Value", this.value), this.save),
      this.result);
  }

  /** params: /params answer (names with tied aliases). */
  setParams(params) {
    this.params = params || [];
    const names = this.params.flatMap((p) => [p.name, ...p.tied]);
    const current = this.select.value;
    clear(this.select, names.map((n) => h("option", { value: n, text: n })));
    if (names.includes(current)) this.select.value = current;
  }

  setReadOnly(readOnly) {
    for (const control of [this.index, this.value, this.save]) control.disabled = readOnly;
    this.result.textContent = readOnly ? "Viewing an old version: its values are shown, and cannot be edited." : "";
  }

  choose(name) {
    this.select.value = name;
  }

  open(name) {
    if (name) this.select.value = name;
    this.dispatchEvent(new CustomEvent("load", { detail: { name: this.select.value, prefix: this.prefix() } }));
  }

  prefix() {
    return [...this.slice.querySelectorAll("input")].map((i) => Number(i.value) || 0);
  }

  entry(name) {
    return this.params.find((p) => p.name === name || p.tied.includes(name));
  }

  /** Where a slice of `shape` starts in the flat tensor and how many values it holds. */
  window(shape) {
    const dims = shape.length;
    const rows = dims >= 2 ? shape[dims - 2] : 1;
    const cols = dims >= 1 ? shape[dims - 1] : 1;
    const lead = shape.slice(0, Math.max(0, dims - 2));
    const inputs = [...this.slice.querySelectorAll("input")];
    const prefix = lead.map((size, i) => Math.max(0, Math.min(Number(inputs[i]?.value) || 0, size - 1)));
    prefix.forEach((p, i) => { if (inputs[i] && inputs[i].value !== String(p)) inputs[i].value = String(p); });
    let offset = 0;
    for (const [i, size] of lead.entries()) offset = offset * size + Math.min(prefix[i] || 0, size - 1);
    const shownRows = Math.max(1, Math.min(rows, Math.floor(MAX_CELLS / cols)));
    return { offset: offset * rows * cols, limit: shownRows * cols, rows: shownRows, totalRows: rows, cols, lead, prefix };
  }

  renderSlice(shape) {
    const lead = shape.slice(0, Math.max(0, shape.length - 2));
    const old = this.prefix();
    clear(this.slice, lead.map((size, i) => field(`Index along axis ${i}`,
      h("input", { type: "number", min: "0", max: String(size - 1), value: String(Math.min(old[i] || 0, size - 1)),
        onchange: () => this.open() }))));
  }

  /** name: the key shown; page: {shape, values, offset}; twins: other keys of the same tensor. */
  show(name, page) {
    const entry = this.entry(name);
    const shape = page.shape;
    if (this.slice.childElementCount !== Math.max(0, shape.length - 2)) this.renderSlice(shape);
    const win = this.window(shape);
    const z = [];
    for (let r = 0; r < win.rows; r += 1) z.push(page.values.slice(r * win.cols, (r + 1) * win.cols));
    const keys = [entry ? entry.name : name, ...(entry ? entry.tied : [])];
    const Plotly = plotly();
    clear(this.plots);
    for (const key of keys) {
      const plot = h("div", { class: "heatmap", role: "img", "aria-label": `Heat map of ${key}`, dataset: { key } });
      this.plots.append(h("figure", {}, h("figcaption", { text: key === name ? key : `${key} (tied: the same tensor)` }), plot));
      Plotly.newPlot(plot, [{ type: "heatmap", z, colorscale: "RdBu", zmid: 0,  // negative blue, positive red
        hovertemplate: `${key}[${win.lead.length ? `${win.prefix.join(", ")}, ` : ""}%{y}, %{x}] = %{z}<extra></extra>` }], {
        height: Math.min(420, 120 + 18 * win.rows), margin: { l: 40, r: 10, t: 6, b: 30 },
        yaxis: { autorange: "reversed", dtick: win.rows <= 16 ? 1 : undefined },
        xaxis: { dtick: win.cols <= 16 ? 1 : undefined },
      }, { ...plotConfig, displayModeBar: false });
      plot.on("plotly_click", (event) => {
        const point = event.points[0];
        const index = shape.length >= 2 ? [...win.prefix, point.y, point.x] : [point.x];
        this.index.value = index.join(", ");
        this.value.value = point.z;
        this.value.focus();
      });
    }
    this.note.textContent = win.rows < win.totalRows ? `Showing the first ${win.rows} of ${win.totalRows} rows.`
      : `${shape.length > 2 ? "A slice of " : ""}shape [${shape.join(", ")}]; hover for values, click a cell to edit it.`;
    this.current = { name, shape };
  }

  submit() {
    if (!this.current || this.save.disabled) return;
    const index = this.index.value.split(/[\s,]+/).filter(Boolean).map(Number);
    const value = this.value.value.trim() === "" ? NaN : Number(this.value.value);
    const badIndex = index.length !== this.current.shape.length || index.some((i, axis) =>
      !Number.isInteger(i) || i < 0 || i >= this.current.shape[axis]);
    showFieldError(this.indexField, badIndex
      ? `${this.current.shape.length} whole numbers within [${this.current.shape.join(", ")}], such as ${this.current.shape.map(() => 0).join(", ")}` : "");
    showFieldError(this.valueField, Number.isFinite(value) ? "" : "a finite number");
    if (badIndex || !Number.isFinite(value)) return;
    this.dispatchEvent(new CustomEvent("edit", { detail: { name: this.current.name, index, value,
      busy: (promise) => whileBusy(this.save, promise) } }));
  }

  showValue(text) {
    this.result.textContent = text;
  }
}
