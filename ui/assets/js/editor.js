// The editor of apps, pods and group trees: a JSON or YAML textarea in a dialog. The server
// validates; its 422 details (JSON pointers) are shown beside the lines they name, with the
// line numbers marked. What differs between the kinds of things edited lives in `kinds.js`.
// YAML is sent as typed (the server reads it by its Content-Type); the browser has no YAML
// parser, so reading YAML (the JSON toggle, a definition's id) asks the server too.

import * as api from "./api.js";
import { h } from "./dom.js";
import { confirmAction, notify } from "./dialogs.js";
import * as jsonpos from "./jsonpos.js";
import * as yamlpos from "./yamlpos.js";
import { toYaml } from "./yaml.js";
import { refresh } from "./live.js";
import { APP, appDefinition } from "./kinds.js";

export const definitionOf = appDefinition;

const LINE_PX = 20;

/** How each format is shown, read back and sent; `read` rejects with a syntax error. */
const FORMATS = {
  json: {
    label: "JSON",
    render: (value) => JSON.stringify(value, null, 2),
    read: async (text) => JSON.parse(text),
    body: (text, value) => value,
    lineIndex: jsonpos.lineIndex,
  },
  yaml: {
    label: "YAML",
    render: toYaml,
    read: (text) => api.yamlToJson(text),
    body: (text) => new api.YamlText(text),
    lineIndex: yamlpos.lineIndex,
  },
};

const FORMAT_KEY = "pacer.editor.format";

/** The format the user last chose, so someone who writes YAML gets YAML every time. */
function preferredFormat() {
  try {
    return FORMATS[localStorage.getItem(FORMAT_KEY)] ? localStorage.getItem(FORMAT_KEY) : "json";
  } catch {
    return "json"; // storage refused (a locked-down browser): JSON, the API's own format
  }
}

function rememberFormat(format) {
  try {
    localStorage.setItem(FORMAT_KEY, format);
  } catch {
    // Not remembered; this editor still uses it.
  }
}

/** Opens the editor on `existing` (null: a new one, from `template` or the kind's) of `kind`;
 *  resolves to the saved id, or null when cancelled. */
export function openEditor(existing, kind = APP, template = kind.template) {
  const editing = Boolean(existing);
  let format = preferredFormat();
  const textarea = h("textarea", { id: "app-json", wrap: "off", spellcheck: "false", autocapitalize: "off", name: "definition" });
  textarea.value = FORMATS[format].render(editing ? kind.definitionOf(existing) : template);
  // Line numbers, error marks and notes scroll with the text: each is moved by its offset.
  const gutter = h("div", { class: "lines" });
  const marks = h("div", { class: "marks" });
  const notes = h("div", { class: "lines" });
  const summary = h("ul", { class: "errors", id: "editor-errors" });
  const save = h("button", { type: "submit", class: "primary", id: "editor-save" }, editing ? "Deploy changes" : `Create ${kind.noun}`);
  const cancel = h("button", { type: "button", id: "editor-cancel" }, "Cancel");
  const formatButtons = Object.entries(FORMATS).map(([name, f]) =>
    h("button", { type: "button", class: "small", id: `editor-${name}`, "data-editor-format": name, onclick: () => switchTo(name) }, f.label));
  const dialog = h("dialog", { class: "modal editor-dialog", id: "editor", "data-kind": kind.noun },
    h("form", { method: "dialog" },
      h("div", { class: "toolbar" }, h("h2", {}, editing ? `Edit ${existing.id}` : `Create ${kind.noun}`), h("span", { class: "grow" }),
        h("span", { class: "formats", role: "group", "aria-label": "format" }, formatButtons)),
      h("p", { class: "muted" }, `${kind.help} Write it in JSON or YAML; the server checks it, and problems show beside their lines.`),
      h("div", { class: "editor" }, h("div", { class: "gutter" }, gutter), h("div", { class: "code" }, marks, textarea), h("div", { class: "notes" }, notes)),
      summary,
      h("menu", {}, cancel, save)));

  let errors = []; // [{line, path, message}]
  const render = () => {
    const count = textarea.value.split("\n").length;
    const bad = new Set(errors.map((e) => e.line));
    gutter.replaceChildren(...Array.from({ length: count }, (_, i) => h("div", { class: bad.has(i + 1) ? "err" : "" }, String(i + 1))));
    const at = (line) => `top:${(line - 1) * LINE_PX}px`;
    marks.replaceChildren(...[...bad].map((line) => h("div", { class: "mark", style: at(line) })));
    const byLine = groupBy(errors);
    notes.replaceChildren(...[...byLine].map(([line, es]) =>
      h("div", { class: "note", "data-line": String(line), style: at(line), title: es.map((e) => e.message).join("\n") }, es.map((e) => e.message).join("; "))));
    summary.replaceChildren(...errors.map((e) =>
      h("li", { onclick: () => selectLine(textarea, e.line) }, h("code", {}, e.path || "/"), ` (line ${e.line}): ${e.message}`)));
    scroll();
  };
  const scroll = () => {
    const y = `translateY(${-textarea.scrollTop}px)`;
    gutter.style.transform = y;
    marks.style.transform = `translate(${-textarea.scrollLeft}px, ${-textarea.scrollTop}px)`;
    notes.style.transform = y;
  };
  textarea.addEventListener("scroll", scroll);
  textarea.addEventListener("input", render);

  const showFormat = () => {
    dialog.dataset.format = format;
    for (const b of formatButtons) b.classList.toggle("active", b.dataset.editorFormat === format);
  };
  /** Converts the text to the other format when it reads; else shows why not, unconverted. */
  async function switchTo(next) {
    // Not while a conversion or a save is on its way: either would act on a changed text.
    if (next === format || textarea.readOnly || save.disabled) return;
    const text = textarea.value;
    textarea.readOnly = true;
    save.disabled = true;
    try {
      const value = await FORMATS[format].read(text);
      textarea.value = FORMATS[next].render(value);
      format = next;
      rememberFormat(format);
      errors = [];
    } catch (e) {
      errors = [{ ...syntaxProblem(format, text, e), path: "" }];
      errors[0].message += ` (fix it to convert to ${FORMATS[next].label})`;
    } finally {
      textarea.readOnly = false;
      save.disabled = false;
    }
    showFormat();
    render();
  }

  return new Promise((resolve) => {
    const close = (value) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    cancel.addEventListener("click", () => close(null));
    dialog.addEventListener("cancel", (ev) => {
      ev.preventDefault();
      close(null);
    });
    dialog.querySelector("form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      save.disabled = true;
      try {
        const id = await submit(kind, editing ? existing : null, textarea.value, format, (es) => {
          errors = es;
          render();
          if (es.length) scrollToLine(textarea, Math.min(...es.map((e) => e.line)));
        });
        if (id) close(id);
      } finally {
        save.disabled = false;
      }
    });
    document.body.append(dialog);
    showFormat();
    render();
    dialog.showModal();
    textarea.focus();
  });
}

/** Sends the definition; the saved id, or null with `show` given the errors. An edit is sent
 *  only if the thing is still at the version the editor opened (where the server checks
 *  that), unless the user agrees to overwrite a change made meanwhile. A kind with a preview
 *  (groups) shows the server's plan first; declining it keeps the editor open. */
async function submit(kind, existing, text, format, show) {
  const existingId = existing?.id ?? null;
  const fmt = FORMATS[format];
  let def;
  try {
    def = await fmt.read(text);
  } catch (e) {
    show([{ ...syntaxProblem(format, text, e), path: "" }]);
    return null;
  }
  const body = fmt.body(text, def);
  let ifVersion = existing?.version;
  let force = false;
  const send = () => (existingId ? kind.update(existingId, body, force, ifVersion) : kind.create(body));
  try {
    if (kind.preview && !(await kind.preview(existingId ?? kind.idOf(def), body))) {
      show([]);
      return null;
    }
    for (;;) {
      try {
        await send();
        break;
      } catch (e) {
        if (existingId && e.status === 412 && ifVersion) {
          if (!(await confirmAction(`The ${kind.noun} changed meanwhile`, `${existingId} was changed by someone else since this editor opened. Deploy this definition anyway, replacing that change?`, "Overwrite"))) throw e;
          ifVersion = undefined;
        } else if (existingId && e.status === 409 && !force) {
          if (!(await confirmAction("A deployment is in progress", `${e.message}. Deploy this change anyway? The running deployment is replaced.`, "Force deploy"))) return null;
          force = true;
        } else {
          throw e;
        }
      }
    }
  } catch (e) {
    const lines = fmt.lineIndex(text);
    const lineOf = (path) => jsonpos.lineOf(lines, path);
    const details = (e.details ?? []).flatMap((d) => d.errors.map((message) => ({ line: lineOf(d.path), path: d.path, message })));
    show(details.length ? details : [{ line: lineOf(e.status === 409 ? "/id" : ""), path: "", message: e.message }]);
    return null;
  }
  show([]);
  const id = existingId ?? kind.idOf(def);
  notify(existingId ? `Deploying the new configuration of ${id}` : `Created ${id}`);
  refresh(0);
  return id;
}

/** Where and why `text` does not read as `format`: JSON.parse's error, or the server's 400
 *  for YAML (whose details name the line); anything else (the server unreachable) as is. */
function syntaxProblem(format, text, e) {
  if (format === "json") return { line: syntaxErrorLine(text, e.message), message: `Not valid JSON: ${e.message}` };
  if (e.status === 400 && typeof e.body?.details === "string") {
    return { line: syntaxErrorLine(text, e.body.details), message: `Not valid YAML: ${e.body.details}` };
  }
  return { line: 1, message: `The YAML could not be read: ${e.message}` };
}

function syntaxErrorLine(text, message) {
  const line = /line (\d+)/.exec(message);
  if (line) return Number(line[1]);
  const pos = /position (\d+)/.exec(message);
  return pos ? text.slice(0, Number(pos[1])).split("\n").length : 1;
}

function selectLine(textarea, line) {
  const lines = textarea.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
  textarea.focus();
  textarea.setSelectionRange(start, start + lines[line - 1].length);
  scrollToLine(textarea, line);
}

function scrollToLine(textarea, line) {
  textarea.scrollTop = Math.max(0, (line - 3) * LINE_PX);
}

function groupBy(errors) {
  const m = new Map();
  for (const e of errors) m.set(e.line, [...(m.get(e.line) ?? []), e]);
  return m;
}
