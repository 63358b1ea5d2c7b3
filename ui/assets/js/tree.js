// Apps as a tree of groups from their path ids (`/a/b/c` is app c in group /a/b), filtered,
// sorted within each group, flattened to rows and cut into pages.

/** Does `app` match the filter text? Words must all match an id substring or a label
 *  (`key` or `key=value`, substring of the value). */
export function matches(app, text) {
  const words = text.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const labels = Object.entries(app.labels ?? {}).map(([k, v]) => [k.toLowerCase(), String(v).toLowerCase()]);
  return words.every((w) => {
    if (app.id.toLowerCase().includes(w)) return true;
    const eq = w.indexOf("=");
    if (eq < 0) return labels.some(([k]) => k.includes(w));
    const [key, value] = [w.slice(0, eq), w.slice(eq + 1)];
    return labels.some(([k, v]) => k === key && v.includes(value));
  });
}

/** {id, groups: Map<name, node>, apps: []} with the apps at their group paths, and the groups
 *  of `groupIds` (those that exist on their own, empty ones too) even when no app is in them. */
export function buildTree(apps, groupIds = []) {
  const root = { id: "/", groups: new Map(), apps: [] };
  const groupAt = (parts) => {
    let node = root;
    for (const part of parts) {
      if (!node.groups.has(part)) node.groups.set(part, { id: `${node.id === "/" ? "" : node.id}/${part}`, groups: new Map(), apps: [] });
      node = node.groups.get(part);
    }
    return node;
  };
  for (const id of groupIds) groupAt(id.split("/").filter(Boolean));
  for (const app of apps) groupAt(app.id.split("/").filter(Boolean).slice(0, -1)).apps.push(app);
  return root;
}

/** Totals of a group for its row: apps, instances wanted, running, healthy, cpus and mem. */
export function totals(node) {
  const t = { apps: 0, instances: 0, tasksRunning: 0, tasksHealthy: 0, tasksStaged: 0, cpus: 0, mem: 0 };
  const add = (n) => {
    for (const a of n.apps) {
      t.apps += 1;
      t.instances += a.instances;
      t.tasksRunning += a.tasksRunning;
      t.tasksHealthy += a.tasksHealthy;
      t.tasksStaged += a.tasksStaged;
      t.cpus += a.cpus * a.instances;
      t.mem += a.mem * a.instances;
    }
    n.groups.forEach(add);
  };
  add(node);
  return t;
}

/**
 * Rows of the tree, depth first: groups first (by name), then apps sorted by `compare`.
 * Groups in `collapsed` hide their content. Each row is {kind: "group"|"app", depth, node|app}.
 */
export function flatten(root, compare, collapsed = new Set()) {
  const rows = [];
  const walk = (node, depth) => {
    for (const name of [...node.groups.keys()].sort()) {
      const group = node.groups.get(name);
      rows.push({ kind: "group", depth, node: group });
      if (!collapsed.has(group.id)) walk(group, depth + 1);
    }
    for (const app of [...node.apps].sort(compare)) rows.push({ kind: "app", depth, app });
  };
  walk(root, 0);
  return rows;
}

export function page(rows, index, size) {
  const pages = Math.max(1, Math.ceil(rows.length / size));
  const current = Math.min(Math.max(0, index), pages - 1);
  return { rows: rows.slice(current * size, (current + 1) * size), page: current, pages };
}
