// Modal confirmations and prompts (native <dialog>), and short notices of what happened.

import { h, $ } from "./dom.js";

function modal(title, body, buttons) {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "modal" });
    const close = (value) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    const form = h("form", { method: "dialog" }, h("h2", {}, title), body,
      h("menu", {}, buttons.map((b) => h("button", {
        type: b.submit ? "submit" : "button",
        class: b.class,
        "data-action": b.id,
        onclick: (ev) => {
          ev.preventDefault();
          close(b.value());
        },
      }, b.label))));
    dialog.append(form);
    dialog.addEventListener("cancel", (ev) => {
      ev.preventDefault();
      close(null);
    });
    document.body.append(dialog);
    dialog.showModal();
    (dialog.querySelector("input") ?? dialog.querySelector("button[type=submit]"))?.focus();
  });
}

/** Resolves true when the user confirms `action` (the confirm button's label); `message` is
 *  text or an element (a plan to review). */
export async function confirmAction(title, message, action, danger = true) {
  const answer = await modal(title, typeof message === "string" ? h("p", {}, message) : message, [
    { id: "cancel", label: "Cancel", value: () => false },
    { id: "confirm", label: action, class: danger ? "danger" : "primary", submit: true, value: () => true },
  ]);
  return answer === true;
}

/** A whole number from the user, or null when cancelled. */
export async function askCount(title, label, initial) {
  const input = h("input", { type: "number", min: "0", step: "1", value: String(initial), name: "count", required: true });
  const answer = await modal(title, h("label", { class: "field" }, label, input), [
    { id: "cancel", label: "Cancel", value: () => null },
    { id: "confirm", label: "Apply", class: "primary", submit: true, value: () => input.value },
  ]);
  if (answer === null || answer === "" || !/^\d+$/.test(String(answer).trim())) return null;
  return Number(answer);
}

/** A notice at the bottom of the page for a few seconds. */
export function notify(message, kind = "info") {
  const area = $("#notices");
  const note = h("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  area.append(note);
  setTimeout(() => note.remove(), kind === "error" ? 10_000 : 4000);
}
