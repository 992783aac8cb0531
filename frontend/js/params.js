// The parameter table: named_parameters() order, each shared tensor once, with its tied aliases.

import { clear, formatNumber, h, shapeText } from "./dom.js";

export class ParamTable extends EventTarget {
  constructor(root) {
    super();
    this.root = root;
    this.show(null);
  }

  show(params) {
    if (!params) {
      clear(this.root, h("h2", { text: "Parameters" }), h("p", { class: "empty", text: "Build the network to see its parameters." }));
      return;
    }
    const head = ["name", "shape", "count", "mean", "std", "min", "max", "zeros", "tied with"];
    const rows = params.map((p) => h("tr", {},
      h("th", { scope: "row" }, h("button", { type: "button", class: "link", title: "Show in the tensor view",
        onclick: () => this.dispatchEvent(new CustomEvent("open", { detail: p.name })) }, p.name)),
      h("td", { text: shapeText(p.shape) }),
      h("td", { class: "num", text: formatNumber(p.numel) }),
      ...["mean", "std", "min", "max"].map((k) => h("td", { class: "num", text: formatNumber(p.stats?.[k]) })),
      h("td", { class: "num", text: p.stats ? `${(100 * (p.stats.zero_fraction ?? 0)).toFixed(1)}%` : "–" }),
      h("td", { text: p.tied.join(", ") || "–" })));
    clear(this.root, h("h2", { text: "Parameters" }),
      h("table", { class: "params", "aria-label": "Parameters" },
        h("thead", {}, h("tr", {}, head.map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, rows)));
  }
}
