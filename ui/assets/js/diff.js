// A line diff (longest common subsequence) of two texts, for comparing app versions.

/** [{op: " " | "-" | "+", text}] turning `a` into `b`. */
export function diffLines(a, b) {
  const x = a.split("\n");
  const y = b.split("\n");
  // Common head and tail are cut first: versions usually differ in a few lines.
  let head = 0;
  while (head < x.length && head < y.length && x[head] === y[head]) head++;
  let tail = 0;
  while (tail < x.length - head && tail < y.length - head && x[x.length - 1 - tail] === y[y.length - 1 - tail]) tail++;
  const xs = x.slice(head, x.length - tail);
  const ys = y.slice(head, y.length - tail);
  const n = xs.length;
  const m = ys.length;
  // lcs[i][j]: length of the LCS of xs[i..] and ys[j..].
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = xs[i] === ys[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out = x.slice(0, head).map((text) => ({ op: " ", text }));
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && xs[i] === ys[j]) {
      out.push({ op: " ", text: xs[i] });
      i++;
      j++;
    } else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push({ op: "-", text: xs[i++] });
    } else {
      out.push({ op: "+", text: ys[j++] });
    }
  }
  return out.concat(x.slice(x.length - tail).map((text) => ({ op: " ", text })));
}

/** Only the changed lines with `context` unchanged lines around them; gaps become "…". */
export function hunks(lines, context = 3) {
  const keep = lines.map(() => false);
  lines.forEach((l, i) => {
    if (l.op !== " ") for (let k = Math.max(0, i - context); k <= Math.min(lines.length - 1, i + context); k++) keep[k] = true;
  });
  const out = [];
  lines.forEach((l, i) => {
    if (keep[i]) out.push(l);
    else if (i > 0 && keep[i - 1]) out.push({ op: "…", text: "" });
  });
  return out;
}

/** JSON with object keys sorted, so two versions differ only where their content does. */
export function canonical(v) {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]));
  return v;
}
