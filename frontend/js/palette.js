// The palette: every layer type from /api/layers, grouped by category, with a filter box.
// Drag a type into the network, or press Enter (or click) to add it.

import { clear, field, h } from "./dom.js";

export const DRAG_TYPE = "application/x-layerlab-type";

export class Palette extends EventTarget {
  constructor(root) {
    super();
    this.root = root;
    this.filter = h("input", { type: "search", placeholder: "Linear, conv, norm…", oninput: () => this.render() });
    this.groups = h("div", { class: "groups" });
    this.catalog = [];
    clear(root, h("h2", { text: "Layers" }), field("Filter layers", this.filter), this.groups);
  }

  show(catalog) {
    this.catalog = [...catalog, { type: "Sequential", category: "container", lazy: false,
      doc: "A nested block of layers" }];
    this.render();
  }

  render() {
    const term = this.filter.value.trim().toLowerCase();
    const byCategory = new Map();
    for (const item of this.catalog) {
      if (term && !`${item.type} ${item.category} ${item.doc}`.toLowerCase().includes(term)) continue;
      if (!byCategory.has(item.category)) byCategory.set(item.category, []);
      byCategory.get(item.category).push(item);
    }
    clear(this.groups, [...byCategory].map(([category, items]) => h("section", { class: "group" },
      h("h3", { text: category }),
      h("ul", { role: "list" }, items.map((item) => h("li", {},
        h("button", {
          type: "button", class: "palette-item", draggable: "true", title: item.doc,
          "aria-label": `Add ${item.type}`, dataset: { type: item.type },
          onclick: () => this.dispatchEvent(new CustomEvent("add", { detail: item.type })),
          ondragstart: (event) => {
            event.dataTransfer.setData(DRAG_TYPE, item.type);
            event.dataTransfer.effectAllowed = "copy";
          },
        }, item.type, item.lazy ? h("span", { class: "badge", text: "lazy" }) : null)))))));
    if (!byCategory.size) this.groups.append(h("p", { class: "empty", text: "No layer type matches." }));
    // one tab stop for the whole palette; the arrow keys move within it
    const items = [...this.groups.querySelectorAll(".palette-item")];
    items.forEach((item, i) => {
      item.tabIndex = i === 0 ? 0 : -1;
      item.addEventListener("keydown", (event) => {
        const step = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[event.key];
        const to = event.key === "Home" ? 0 : event.key === "End" ? items.length - 1 : step ? i + step : null;
        if (to === null || !items[to]) return;
        event.preventDefault();
        item.tabIndex = -1;
        items[to].tabIndex = 0;
        items[to].focus();
      });
    });
  }
}
