// The network column: the layers of the draft in order, their output shapes and parameter counts,
// ties marked with a shared colour, drag to insert or reorder, nested blocks that collapse.

import { DRAG_TYPE } from "./palette.js";
import { clear, formatNumber, h, keepFocus, shapeText, tieColour } from "./dom.js";

export const DRAG_NODE = "application/x-layerlab-node";

function summary(node) {
  if (node.kind === "tie") return `→ same module as “${node.tie}”`;
  if (node.kind === "block") return `${node.layers.length} layer${node.layers.length === 1 ? "" : "s"}`;
  return Object.entries(node.args).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ");
}

export class NetworkView extends EventTarget {
  constructor(root, draft) {
    super();
    this.root = root;
    this.draft = draft;
    this.selected = null;
    this.check = null;
    this.errors = [];
    this.list = h("ol", { class: "layers", "aria-label": "Layers" });
    this.total = h("p", { class: "total", role: "status" });
    this.message = h("div", { class: "network-error", role: "alert", hidden: true });
    this.end = h("div", { class: "dropzone", text: "Drop a layer here to append it" });
    this.acceptDrops(this.end, () => ({}));
    clear(root, h("h2", { text: "Network" }), this.list, this.end, this.message, this.total);
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  select(uid) {
    this.selected = uid;
    this.render();
    this.emit("select", uid);
  }

  /**
   * check: /api/specs/check's answer; uids: address -> node uid as the draft was when it was sent,
   * so facts stay with their layer while the draft changes under a pending check.
   */
  show(check, uids) {
    this.check = check.ok ? check : null;
    this.errors = check.shape_error ? [] : check.errors;
    this.shapeError = check.shape_error;
    this.failingUid = check.shape_error ? uids.get(check.shape_error.layer) : null;
    this.facts = new Map((check.layers || []).map((l) => [uids.get(l.address), l]));
    for (const before of check.shape_error?.layers_before || []) {
      this.facts.set(uids.get(before.address), { output_shape: before.output_shape });
    }
    this.render();
  }

  render() {
    keepFocus(this.root, () => this.renderNow());
    if (this.focusNext) {
      this.root.querySelector(`[data-focus="${CSS.escape(this.focusNext)}"]`)?.focus();
      this.focusNext = null;
    }
  }

  renderNow() {
    const facts = this.facts || new Map();
    const places = [...this.draft.walk()];
    const linked = this.linkedNames();
    const rows = new Map();
    for (const place of places) {
      const row = this.row(place, facts.get(place.node.uid), linked);
      rows.set(place.node.uid, row);
      const parent = places.find((p) => p.node.kind === "block" && p.list !== place.list &&
        p.node.layers === place.list);
      if (parent) rows.get(parent.node.uid).querySelector(":scope > ol").append(row);
    }
    clear(this.list, this.draft.layers.map((node) => rows.get(node.uid)));
    if (!this.draft.layers.length) {
      this.list.append(h("li", { class: "empty", text: "Drag layers here from the palette, or press Enter on one." }));
    }
    const general = this.errors.filter((e) => !places.some((p) => e.path.startsWith(p.path)) &&
      !(e.path === "layers" && !places.length));  // an empty network has its own message
    const messages = [...general.map((e) => (e.path ? `${e.path}: ${e.msg}` : e.msg)),
      this.shapeError && !this.failingUid ? this.shapeError.errors.map((e) => e.msg).join("; ") : null]
      .filter(Boolean);
    this.message.hidden = !messages.length;
    this.message.textContent = messages.join("\n");
    const count = this.check ? formatNumber(this.check.param_count) : "–";
    this.total.textContent = this.check && !this.check.materialized
      ? `Total: ${count} parameters so far (lazy layers count once their shapes are known)`
      : `Total: ${count} parameters (shared tensors counted once)`;
  }

  linkedNames() {
    if (!this.selected) return new Set();
    const place = this.draft.find(this.selected);
    if (!place) return new Set();
    return new Set([place.node.kind === "tie" ? place.node.tie : place.node.name].filter(Boolean));
  }

  row(place, info, linked) {
    const { node, address, path } = place;
    const tieName = node.kind === "tie" ? node.tie : node.name;
    const isTied = tieName && [...this.draft.walk()].some((p) => p.node.kind === "tie" && p.node.tie === tieName);
    const errors = this.errors.filter((e) => e.path === path || e.path.startsWith(`${path}.`) &&
      !e.path.slice(path.length + 1).startsWith("layers"));
    const failing = this.shapeError && this.failingUid === node.uid;
    const label = node.kind === "tie" ? `${address} · tie` : `${address} · ${node.type}`;
    const select = h("button", {
      type: "button", class: "select", "aria-pressed": String(this.selected === node.uid),
      "aria-label": `Layer ${address}: ${node.kind === "tie" ? `tie to ${node.tie}` : node.type}`,
      title: "Alt+↑/↓ moves the layer; ↑/↓ goes to the next one",
      dataset: { focus: `${node.uid}:select` }, onclick: () => this.select(node.uid),
      onkeydown: (event) => this.keys(event, place),
    }, h("span", { class: "label" }, label,
      isTied ? h("span", { class: "tie-mark", title: `these positions share one module: ${tieName}`,
        text: `tied: ${tieName}` }) : null,
      info && info.type && node.kind === "layer" && info.type !== node.type
        ? h("span", { class: "badge now", title: "what PyTorch makes of it once its shapes are known",
          text: `→ ${info.type}` }) : null),
    h("span", { class: "args", text: summary(node) }));
    const facts = h("span", { class: "facts" },
      h("span", { class: "shape", text: info ? shapeText(info.output_shape) : "…" }),
      h("span", { class: "count", text: info && info.param_count !== undefined ? `${formatNumber(info.param_count)} params` : "" }));
    const buttons = h("span", { class: "row-actions" },
      node.kind === "block" ? h("button", {
        type: "button", "aria-expanded": String(!node.collapsed), "aria-label": `Collapse block ${address}`,
        dataset: { focus: `${node.uid}:collapse` },
        onclick: () => this.draft.update(node.uid, { collapsed: !node.collapsed }),
      }, node.collapsed ? "▸" : "▾") : null,
      node.kind !== "tie" ? h("button", {
        type: "button", title: "Insert a tie: this very module again", "aria-label": `Reuse layer ${address}`,
        dataset: { focus: `${node.uid}:reuse` }, onclick: () => this.emit("tie", node.uid),
      }, "Reuse") : null,
      h("button", { type: "button", "aria-label": `Delete layer ${address}`, dataset: { focus: `${node.uid}:delete` },
        onclick: () => {
          const rows = [...this.root.querySelectorAll("button.select")];
          const here = rows.findIndex((b) => b.dataset.focus === `${node.uid}:select`);
          const neighbour = rows[here + 1] || rows[here - 1];
          this.focusNext = neighbour ? neighbour.dataset.focus : null;
          this.emit("remove", node.uid);
        } }, "Delete"));
    const li = h("li", {
      class: ["layer", node.kind, this.selected === node.uid ? "selected" : "", errors.length || failing ? "has-error" : "",
        tieName && linked.has(tieName) ? "linked" : ""].join(" "),
      draggable: "true", dataset: { uid: node.uid, address },
      ondragstart: (event) => {
        event.stopPropagation();
        event.dataTransfer.setData(DRAG_NODE, node.uid);
        event.dataTransfer.effectAllowed = "move";
      },
    }, h("div", { class: "row" }, select, facts, buttons),
    errors.length || failing ? h("div", { class: "row-error", role: "alert",
      text: failing ? this.shapeError.errors.map((e) => e.msg).join("; ") : errors.map((e) => e.msg).join("; ") })
      : null);
    if (isTied) li.style.setProperty("--tie", tieColour(tieName));
    this.acceptDrops(li, (event) => {
      const rect = li.getBoundingClientRect();
      return event.clientY < rect.top + Math.min(rect.height, 40) / 2 ? { beforeUid: node.uid } : { afterUid: node.uid };
    });
    if (node.kind === "block") {
      const children = h("ol", { class: "children", hidden: node.collapsed });
      const zone = h("div", { class: "dropzone inner", text: "Drop here to add to this block", hidden: node.collapsed });
      this.acceptDrops(zone, () => ({ parentUid: node.uid }));
      li.append(children, zone);
    }
    return li;
  }

  /** Up/Down go to the next row; Alt+Up/Down move the layer among its siblings. */
  keys(event, place) {
    const step = { ArrowUp: -1, ArrowDown: 1 }[event.key];
    if (!step) return;
    event.preventDefault();
    if (event.altKey) {
      const sibling = place.list[place.index + step];
      if (!sibling) return;
      this.draft.move(place.node.uid, step < 0 ? { beforeUid: sibling.uid } : { afterUid: sibling.uid });
      return;
    }
    const rows = [...this.root.querySelectorAll("button.select")].filter((b) => b.offsetParent !== null);
    const here = rows.indexOf(event.currentTarget);
    rows[Math.max(0, Math.min(rows.length - 1, here + step))]?.focus();
  }

  acceptDrops(target, where) {
    target.addEventListener("dragover", (event) => {
      const types = event.dataTransfer.types;
      if (!types.includes(DRAG_TYPE) && !types.includes(DRAG_NODE)) return;
      event.preventDefault();
      event.stopPropagation();
      target.classList.add("drop-target");
    });
    target.addEventListener("dragleave", () => target.classList.remove("drop-target"));
    target.addEventListener("drop", (event) => {
      event.preventDefault();
      event.stopPropagation();
      target.classList.remove("drop-target");
      const type = event.dataTransfer.getData(DRAG_TYPE);
      const uid = event.dataTransfer.getData(DRAG_NODE);
      if (type) this.emit("drop-new", { type, ...where(event) });
      else if (uid) this.emit("drop-move", { uid, ...where(event) });
    });
  }
}
