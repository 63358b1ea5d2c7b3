// Where each value of a JSON text starts: JSON pointer → line (1-based), so the server's
// validation errors (which name JSON pointers) can be shown beside the lines they are about.

export function lineIndex(text) {
  const lines = new Map();
  let pos = 0;
  let line = 1;
  const ws = () => {
    while (pos < text.length && /\s/.test(text[pos])) {
      if (text[pos] === "\n") line++;
      pos++;
    }
  };
  const fail = () => {
    throw new Error("invalid JSON");
  };
  const string = () => {
    if (text[pos] !== '"') fail();
    const start = pos++;
    while (pos < text.length && text[pos] !== '"') pos += text[pos] === "\\" ? 2 : 1;
    if (pos >= text.length) fail();
    pos++;
    return JSON.parse(text.slice(start, pos));
  };
  const value = (pointer) => {
    ws();
    if (!lines.has(pointer)) lines.set(pointer, line);
    const c = text[pos];
    if (c === "{" || c === "[") {
      pos++;
      const close = c === "{" ? "}" : "]";
      for (let i = 0; ; i++) {
        ws();
        if (text[pos] === close) break;
        if (i > 0) {
          if (text[pos] !== ",") fail();
          pos++;
          ws();
        }
        let key = String(i);
        if (c === "{") {
          const keyLine = line;
          key = string();
          ws();
          if (text[pos++] !== ":") fail();
          lines.set(`${pointer}/${escape(key)}`, keyLine);
        }
        value(`${pointer}/${escape(key)}`);
      }
      pos++;
    } else if (c === '"') {
      string();
    } else {
      const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(pos, pos + 64));
      if (!m) fail();
      pos += m[0].length;
    }
  };
  try {
    value("");
  } catch {
    // What was read before the error still places the errors above it.
  }
  return lines;
}

const escape = (key) => key.replaceAll("~", "~0").replaceAll("/", "~1");

/** Marathon writes array indexes as `/portDefinitions(0)/port`; Pacer as JSON pointers. */
export const normalisePath = (path) => (path ?? "").replace(/\((\d+)\)/g, "/$1").replace(/\/$/, "");

/** The line of `path`, or of its nearest ancestor present in the text, or 1. */
export function lineOf(lines, path) {
  let p = normalisePath(path);
  for (;;) {
    if (lines.has(p)) return lines.get(p);
    if (p === "") return 1;
    p = p.slice(0, p.lastIndexOf("/"));
  }
}
