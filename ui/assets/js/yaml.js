// A small YAML emitter for showing JSON values as YAML (block style, two-space indent).
// Strings that could read as something else are written as JSON strings, which YAML accepts.

const RESERVED = /^(true|false|yes|no|on|off|null|~|y|n)$/i;
const PLAIN = /^[A-Za-z_/][A-Za-z0-9_\-./]*$/;

function scalar(v) {
  if (v === null || v === undefined) return "null";
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (PLAIN.test(v) && !RESERVED.test(v)) return v;
  return JSON.stringify(v);
}

/** A multi-line string as a literal block, when its content survives one unchanged. */
function block(s, indent) {
  if (!s.includes("\n") || /^\s/.test(s) || s.endsWith("\n\n") || /[ \t]\n|[^\x20-\x7e\n]/.test(s)) return null;
  const chomp = s.endsWith("\n") ? "|" : "|-";
  const lines = (s.endsWith("\n") ? s.slice(0, -1) : s).split("\n");
  return `${chomp}\n${lines.map((l) => (l ? indent + l : "")).join("\n")}`;
}

const isEmpty = (v) => (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0);
const isCollection = (v) => v !== null && typeof v === "object";

function value(v, indent) {
  if (isCollection(v)) return isEmpty(v) ? ` ${Array.isArray(v) ? "[]" : "{}"}` : `\n${lines(v, indent)}`;
  if (typeof v === "string") {
    const b = block(v, indent);
    if (b) return ` ${b}`;
  }
  return ` ${scalar(v)}`;
}

function lines(v, indent) {
  if (Array.isArray(v)) {
    return v
      .map((item) => {
        if (isCollection(item) && !isEmpty(item) && !Array.isArray(item)) {
          // The first key goes on the dash's line, the others under it.
          const body = lines(item, `${indent}  `);
          return `${indent}- ${body.slice(indent.length + 2)}`;
        }
        return `${indent}-${value(item, `${indent}  `)}`;
      })
      .join("\n");
  }
  return Object.entries(v)
    .map(([k, item]) => `${indent}${scalar(k)}:${value(item, `${indent}  `)}`)
    .join("\n");
}

export function toYaml(v) {
  return isCollection(v) && !isEmpty(v) ? `${lines(v, "")}\n` : `${value(v, "").trimStart()}\n`;
}
