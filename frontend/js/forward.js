// Run: a forward pass on a seeded random batch (or a pasted input) shows the output and each
// layer's activation histogram and stats, with the dead-unit fraction of ReLU layers.

import { clear, field, formatNumber, h } from "./dom.js";
import { histogramTrace, plotConfig, plotly } from "./plots.js";

export class ForwardPanel extends EventTarget {
  constructor(root) {
    super();
    this.root = root;
    this.batch = h("input", { type: "number", min: "1", value: "64" });
    this.seed = h("input", { type: "number", min: "0", placeholder: "random" });
    this.mode = h("select", {}, ["eval", "train"].map((m) => h("option", { value: m, text: m })));
    this.input = h("textarea", { rows: 2, spellcheck: "false", placeholder: "optional: [[0.1, 0.2, 0.3, 0.4]]" });
    this.run = h("button", { type: "button", class: "primary", onclick: () => this.submit() }, "Run forward");
    this.inputField = field("Input (JSON, batch first)", this.input);
    this.output = h("div", { class: "forward-output" });
    clear(root, h("h2", { text: "Run" }),
      h("div", { class: "controls" }, field("Batch", this.batch), field("Seed", this.seed), field("Mode", this.mode),
        this.inputField, this.run),
      this.output);
  }

  /** The input example follows the model: zeros of one sample's shape, batch first. */
  setInputShape(shape) {
    const zeros = (dims) => (dims.length ? `[${Array(dims[0]).fill(zeros(dims.slice(1))).join(", ")}]` : "0");
    const size = (shape || []).reduce((a, b) => a * b, 1);
    this.input.placeholder = !shape ? "optional: nested lists, batch first"
      : size <= 12 ? `optional, e.g. [${zeros(shape)}]` : `optional: nested lists of shape [batch, ${shape.join(", ")}]`;
  }

  submit() {
    if (this.run.disabled) return;
    const body = { batch: Number(this.batch.value) || 1, mode: this.mode.value, bins: 30 };
    if (this.seed.value !== "") body.seed = Number(this.seed.value);
    if (this.input.value.trim()) {
      try {
        body.input = JSON.parse(this.input.value);
      } catch (error) {
        this.inputField.querySelector(".field-error").hidden = false;
        this.inputField.querySelector(".field-error").textContent = `not JSON: ${error.message}`;
        return;
      }
    }
    this.inputField.querySelector(".field-error").hidden = true;
    this.dispatchEvent(new CustomEvent("run", { detail: { body, button: this.run } }));
  }

  show(result, given = false) {
    const Plotly = plotly();
    const rows = result.activations.map((a) => h("tr", {},
      h("th", { scope: "row", text: `${a.layer} ${a.type}` }),
      h("td", { text: `[${a.shape.join(", ")}]` }),
      ...["mean", "std", "min", "max"].map((k) => h("td", { class: "num", text: formatNumber(a.stats[k]) })),
      h("td", { class: "num", text: `${(100 * (a.stats.zero_fraction ?? 0)).toFixed(1)}%` }),
      h("td", { class: "num", text: a.dead_fraction === undefined ? "–" : `${(100 * a.dead_fraction).toFixed(1)}%` })));
    const grid = h("div", { class: "plot-grid" });
    const flat = result.output.flat(Infinity);
    clear(this.output,
      h("p", { text: `Output shape [${result.shape.join(", ")}] · ${given ? "the given input"
        : `a random batch, seed ${result.seed}`} · ${result.mode} mode` }),
      h("pre", { class: "values", text: flat.slice(0, 32).map((v) => formatNumber(v)).join("  ") +
        (flat.length > 32 ? `  … (${flat.length} values)` : "") }),
      h("table", { class: "params", "aria-label": "Activations" },
        h("thead", {}, h("tr", {}, ["layer", "shape", "mean", "std", "min", "max", "zeros", "dead units"]
          .map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, rows)),
      grid);
    for (const a of result.activations) {
      const plot = h("div", { class: "plot", role: "img", "aria-label": `Activations of layer ${a.layer}` });
      grid.append(h("figure", {}, h("figcaption", { text: `${a.layer} ${a.type}` }), plot));
      Plotly.newPlot(plot, [histogramTrace(a.histogram, a.layer, "#2f9e44")], {
        height: 170, margin: { l: 40, r: 8, t: 6, b: 28 }, bargap: 0, showlegend: false,
        xaxis: { fixedrange: true }, yaxis: { fixedrange: true } }, plotConfig);
    }
  }
}
