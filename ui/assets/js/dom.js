// A tiny element builder: h("td", { class: "x", onclick: f }, "text", child, [more]).

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  el.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

/** Replaces `parent`'s children, keeping it in place (focus elsewhere on the page is kept). */
export const fill = (parent, ...children) => parent.replaceChildren(...children.flat(Infinity).filter((c) => c != null && c !== false));

export const link = (href, text, attrs = {}) => h("a", { href, ...attrs }, text);
export const appLink = (id) => link(`#/apps${id}`, id);
