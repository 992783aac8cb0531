// History: every version with the action that made it; view or download an old one, or restore it.

import { clear, h } from "./dom.js";

export class HistoryPanel extends EventTarget {
  constructor(root) {
    super();
    this.root = root;
    this.show(null, null);
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  show(versions, model, viewing = null, links = () => []) {
    if (!versions || !model) {
      clear(this.root, h("h2", { text: "History" }), h("p", { class: "empty", text: "Build the network to start its history." }));
      return;
    }
    const rows = [...versions].reverse().map((v) => h("tr", { class: v.version === viewing ? "viewing" : "" },
      h("th", { scope: "row", text: `v${v.version}` }),
      h("td", { text: v.action }),
      h("td", { text: new Date(v.created * 1000).toLocaleString() }),
      h("td", {},
        h("button", { type: "button", "aria-label": `View version ${v.version}`,
          onclick: () => this.emit("view", v.version === model.version ? null : v.version) },
          v.version === (viewing || model.version) ? "Viewing" : "View"),
        links(v.version).map(({ href, text, filename }) => h("a", { class: "button", href, download: filename, text })),
        v.version === model.version ? null : h("button", { type: "button", "aria-label": `Restore version ${v.version}`,
          onclick: () => this.emit("restore", v.version) }, "Restore"))));
    clear(this.root, h("h2", { text: "History" }),
      viewing ? h("p", { class: "notice" }, `Viewing version ${viewing}: parameters, histograms and downloads show it. `,
        h("button", { type: "button", onclick: () => this.emit("view", null) }, "Back to the current version")) : null,
      h("table", { class: "params", "aria-label": "Versions" },
        h("thead", {}, h("tr", {}, ["version", "action", "when", ""].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, rows)));
  }
}
