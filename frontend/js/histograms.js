// The histogram grid: one plot per parameter, adjustable bins, log scale, a shared range, and the
// previous version overlaid (before / after an init).

import { clear, field, h } from "./dom.js";
import { histogramTrace, outlineTrace, plotConfig, plotly } from "./plots.js";

export class HistogramGrid extends EventTarget {
  constructor(root) {
    super();
    this.root = root;
    this.bins = h("input", { type: "number", min: "1", max: "1000", value: "30", onchange: () => this.request() });
    this.log = h("input", { type: "checkbox", onchange: () => this.draw() });
    this.shared = h("input", { type: "checkbox", onchange: () => this.request() });
    this.overlay = h("input", { type: "checkbox", checked: true, onchange: () => this.request() });
    this.grid = h("div", { class: "plot-grid" });
    this.data = null;
    clear(root, h("h2", { text: "Histograms" }),
      h("div", { class: "controls" }, field("Bins", this.bins), field("Log scale", this.log),
        field("Shared range", this.shared), field("Overlay previous version", this.overlay)),
      this.grid);
  }

  /** Ask main.js for data with the current controls. */
  request() {
    const bins = Math.max(1, Math.min(1000, Math.round(Number(this.bins.value)) || 30));
    this.bins.value = String(bins);  // what is drawn is what the box says
    this.dispatchEvent(new CustomEvent("request", { detail: {
      bins, shared: this.shared.checked, overlay: this.overlay.checked } }));
  }

  /** current: {name: {edges, counts, stats}}; previous: the same for the version before, or null. */
  show(current, previous, version) {
    this.data = { current, previous, version };
    this.draw();
  }

  clearPlots(message) {
    this.data = null;
    clear(this.grid, h("p", { class: "empty", text: message }));
  }

  draw() {
    if (!this.data) return;
    const { current, previous, version } = this.data;
    const Plotly = plotly();
    clear(this.grid);
    for (const [name, histogram] of Object.entries(current)) {
      const plot = h("div", { class: "plot", role: "img", "aria-label": `Histogram of ${name}`,
        dataset: { param: name, bars: String(histogram.counts.length) } });
      this.grid.append(h("figure", {}, h("figcaption", { text: name }), plot));
      const traces = [histogramTrace(histogram, `v${version}`, "#3b5bdb", 0.85)];
      if (previous && previous[name]) traces.push(outlineTrace(previous[name], `v${version - 1} (before)`, "#e8590c"));
      Plotly.newPlot(plot, traces, {
        barmode: "overlay", bargap: 0, height: 170, margin: { l: 40, r: 8, t: 6, b: 28 },
        showlegend: Boolean(previous), legend: { orientation: "h", y: 1.18, x: 1, xanchor: "right" },
        yaxis: this.log.checked
          ? { type: "log", fixedrange: true, dtick: 1,  // ticks at powers of ten only: no crowded minor labels
            range: [Math.log10(0.5), Math.log10(1.5 * Math.max(1, ...histogram.counts))] }
          : { type: "linear", fixedrange: true },
        xaxis: { fixedrange: true, nticks: 6 },
      }, plotConfig);
    }
  }
}
