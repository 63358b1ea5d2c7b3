// Where each value of a YAML text is: JSON pointer → line (1-based), the counterpart of
// jsonpos.js, so the server's validation errors show beside the lines they are about when the
// user writes YAML. The server parses the YAML (this reads no values): this only follows the
// block mappings and sequences by their indentation, the way definitions are written. What
// sits inside a flow collection (`[a, b]`, `{a: b}`), a block scalar or a value spanning
// lines is not indexed, so errors about it fall back to the line of the key holding it.

/** The line of a pointer, or of its nearest ancestor in the text: as for JSON. */
export { lineOf } from "./jsonpos.js";

/** A mapping key up to its `:` (plain, or quoted with either quote). */
const KEY = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"[\]{},&*!|>%@`?-][^#]*?|-[^\s#][^#]*?)[ \t]*:(?=\s|$)/;
/** Only an anchor or a tag, or nothing: the value is on the lines below. */
const NO_VALUE = /^(?:[&!]\S*\s*)*(?:#.*)?$/;
const isDash = (body) => /^-(?=\s|$)/.test(body);
const isMarker = (body, col) => col === 0 && /^(?:---|\.\.\.)(?=\s|$)|^%/.test(body);

const escape = (key) => key.replaceAll("~", "~0").replaceAll("/", "~1");

function unquote(key) {
  if (key.startsWith('"')) {
    try {
      return JSON.parse(key);
    } catch {
      return key.slice(1, -1);
    }
  }
  if (key.startsWith("'")) return key.slice(1, -1).replaceAll("''", "'");
  return key.trim();
}

export function lineIndex(text) {
  const lines = new Map([["", 1]]);
  const open = []; // the collections the current line may be in: {col, pointer, seq, next}
  // The key or item whose value starts on a later line; at first, the document itself.
  let pending = { pointer: "", col: -1, key: false };

  /** An entry of the innermost open collection, at column `col`. */
  const entry = (body, col, line) => {
    const c = open.at(-1);
    if (isDash(body)) {
      if (!c.seq) return;
      const pointer = `${c.pointer}/${c.next++}`;
      lines.set(pointer, line);
      const rest = body.slice(1);
      const inner = rest.trimStart();
      if (NO_VALUE.test(inner)) {
        pending = { pointer, col, key: false };
      } else if (isDash(inner) || KEY.test(inner)) {
        // `- key: value` opens the item's mapping (or `- - x` its sequence) on this line.
        const innerCol = col + 1 + rest.length - inner.length;
        open.push({ col: innerCol, pointer, seq: isDash(inner), next: 0 });
        entry(inner, innerCol, line);
      }
      return;
    }
    const m = KEY.exec(body);
    if (!m || c.seq) return;
    const pointer = `${c.pointer}/${escape(unquote(m[1]))}`;
    lines.set(pointer, line);
    if (NO_VALUE.test(body.slice(m[0].length).trim())) pending = { pointer, col, key: true };
  };

  text.split("\n").forEach((raw, i) => {
    const textLine = raw.replace(/\r$/, "");
    const body = textLine.trimStart();
    const col = textLine.length - body.length;
    if (!body || body.startsWith("#") || isMarker(body, col)) return;
    while (open.length && open.at(-1).col > col) open.pop();
    // A sequence written at its key's indentation ends at the first line that is no item.
    if (open.length > 1 && open.at(-1).col === col && open.at(-1).seq && !isDash(body)) open.pop();
    if (pending && (col > pending.col || (col === pending.col && pending.key && isDash(body)))) {
      open.push({ col, pointer: pending.pointer, seq: isDash(body), next: 0 });
    } else if (!open.length || open.at(-1).col !== col) {
      return; // more of a value that started above (a block scalar, a long string or list)
    }
    pending = null;
    entry(body, col, i + 1);
  });
  return lines;
}
