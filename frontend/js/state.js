// The network being assembled, as data apart from the DOM. It round-trips to a spec:
// Draft.fromSpec(spec).toSpec() equals spec. Every change emits "change".

let uidCount = 0;
const nextUid = () => `n${(uidCount += 1)}`;

function nodeFromEntry(entry) {
  if ("tie" in entry) return { uid: nextUid(), kind: "tie", tie: entry.tie };
  const { type, name, layers, ...args } = entry;
  if (type === "Sequential") {
    return { uid: nextUid(), kind: "block", type, name: name || null, collapsed: false,
      layers: (layers || []).map(nodeFromEntry) };
  }
  return { uid: nextUid(), kind: "layer", type, name: name || null, args };
}

function entryFromNode(node) {
  if (node.kind === "tie") return { tie: node.tie };
  const entry = { type: node.type };
  if (node.name) entry.name = node.name;
  if (node.kind === "block") entry.layers = node.layers.map(entryFromNode);
  else Object.assign(entry, node.args);
  return entry;
}

export class Draft extends EventTarget {
  constructor() {
    super();
    this.name = "network";
    this.inputShape = null;
    this.dtype = "float32";
    this.layers = [];
  }

  static fromSpec(spec) {
    const draft = new Draft();
    draft.load(spec);
    return draft;
  }

  load(spec) {
    this.name = spec.name || "network";
    this.inputShape = spec.input_shape ?? null;
    this.dtype = spec.dtype || "float32";
    this.layers = (spec.layers || []).map(nodeFromEntry);
    this.changed();
  }

  toSpec() {
    const spec = { name: this.name, input_shape: this.inputShape, dtype: this.dtype,
      layers: this.layers.map(entryFromNode) };
    if (spec.input_shape === null) delete spec.input_shape;
    return spec;
  }

  changed() {
    this.dispatchEvent(new Event("change"));
  }

  /** Every node in forward order with its address ("2", "1.0") and spec path ("layers[1].layers[0]"). */
  *walk(nodes = this.layers, address = "", path = "") {
    for (const [i, node] of nodes.entries()) {
      const here = { node, address: address ? `${address}.${i}` : String(i),
        path: `${path ? `${path}.` : ""}layers[${i}]`, list: nodes, index: i };
      yield here;
      if (node.kind === "block") yield* this.walk(node.layers, here.address, here.path);
    }
  }

  find(uid) {
    for (const place of this.walk()) if (place.node.uid === uid) return place;
    return null;
  }

  names() {
    return [...this.walk()].map((p) => p.node.name).filter(Boolean);
  }

  /** Insert a new layer of `type` after the node `afterUid`, inside block `parentUid`, or at the end. */
  add(type, args = {}, { afterUid = null, beforeUid = null, parentUid = null } = {}) {
    const node = type === "Sequential"
      ? { uid: nextUid(), kind: "block", type, name: null, collapsed: false, layers: [] }
      : { uid: nextUid(), kind: "layer", type, name: null, args: { ...args } };
    this.place(node, { afterUid, beforeUid, parentUid });
    return node;
  }

  place(node, { afterUid = null, beforeUid = null, parentUid = null } = {}) {
    const anchor = this.find(afterUid || beforeUid);
    if (anchor) anchor.list.splice(anchor.index + (afterUid ? 1 : 0), 0, node);
    else if (parentUid) this.find(parentUid).node.layers.push(node);
    else this.layers.push(node);
    this.changed();
  }

  move(uid, target) {
    const place = this.find(uid);
    if (!place || target.afterUid === uid || target.beforeUid === uid) return;
    if (place.node.kind === "block" && target.parentUid) {
      const parent = this.find(target.parentUid);
      if (parent && (parent.node === place.node || parent.address.startsWith(`${place.address}.`))) return;
    }
    place.list.splice(place.index, 1);
    this.place(place.node, target);
  }

  /** Remove a node; ties that pointed at it (or into it) go too. Returns how many ties went. */
  remove(uid) {
    const place = this.find(uid);
    if (!place) return 0;
    const gone = new Set([...this.walk([place.node])].map((p) => p.node.name).filter(Boolean));
    place.list.splice(place.index, 1);
    let ties = 0;
    for (const p of [...this.walk()].reverse()) {
      if (p.node.kind === "tie" && gone.has(p.node.tie)) {
        p.list.splice(p.index, 1);
        ties += 1;
      }
    }
    this.changed();
    return ties;
  }

  /** "Reuse this layer": name it if needed, then insert a tie to it right after. */
  tie(uid) {
    const place = this.find(uid);
    if (!place || place.node.kind === "tie") return null;
    if (!place.node.name) {
      const taken = new Set(this.names());
      let n = 1;
      while (taken.has(`shared${n}`)) n += 1;
      place.node.name = `shared${n}`;
    }
    const tie = { uid: nextUid(), kind: "tie", tie: place.node.name };
    place.list.splice(place.index + 1, 0, tie);
    this.changed();
    return tie;
  }

  update(uid, changes) {
    const place = this.find(uid);
    if (!place) return;
    const { name, args } = changes;
    if (name !== undefined) {
      const old = place.node.name;
      place.node.name = name || null;
      for (const p of this.walk()) if (p.node.kind === "tie" && p.node.tie === old) p.node.tie = name;
    }
    if (args !== undefined) place.node.args = args;
    if (changes.tie !== undefined) place.node.tie = changes.tie;
    if (changes.collapsed !== undefined) place.node.collapsed = changes.collapsed;
    this.changed();
  }

  setHeader({ name, inputShape, dtype }) {
    if (name !== undefined) this.name = name;
    if (inputShape !== undefined) this.inputShape = inputShape;
    if (dtype !== undefined) this.dtype = dtype;
    this.changed();
  }
}

/** "3, 32, 32" -> [3, 32, 32]; "" -> null; anything else -> undefined (invalid). */
export function parseShape(text) {
  const trimmed = text.trim().replace(/^\[|\]$/g, "");
  if (!trimmed) return null;
  const parts = trimmed.split(/[\s,x×]+/).filter(Boolean).map(Number);
  return parts.every((n) => Number.isInteger(n) && n >= 1) ? parts : undefined;
}

/** The spec without what building adds (the drawn seed), for "is the draft what was built?". */
export function sameSpec(a, b) {
  const canonical = (value) => {
    if (Array.isArray(value)) return value.map(canonical);
    if (value && typeof value === "object") {
      return Object.fromEntries(Object.keys(value).filter((k) => k !== "seed" && value[k] !== null).sort()
        .map((k) => [k, canonical(value[k])]));
    }
    return value;
  };
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

export const GUIDE_SPEC = {
  name: "builders-guide", input_shape: [4], dtype: "float32",
  layers: [{ type: "LazyLinear", out_features: 8 }, { type: "ReLU" }, { type: "LazyLinear", out_features: 1 }],
};
