// The launch queue: what waits for an offer, how long its launch delay still runs, and why the
// last offers did not fit (processedOffersSummary).

import * as api from "../api.js";
import * as actions from "../actions.js";
import { h, fill, appLink } from "../dom.js";
import { ago, seconds } from "../format.js";

/** The offers' reject reasons of a queue entry, as a small table (nothing when none). */
export function queueReasons(entry) {
  const s = entry.processedOffersSummary;
  if (!s) return null;
  const reasons = (s.rejectSummaryLastOffers ?? []).filter((r) => r.declined > 0);
  return h("div", { class: "offers" },
    h("p", { class: "muted" }, `${s.processedOffersCount} offers processed, ${s.unusedOffersCount} unused`,
      s.lastUnusedOfferAt ? `, last unused ${ago(s.lastUnusedOfferAt)}` : "", s.lastUsedOfferAt ? `, last used ${ago(s.lastUsedOfferAt)}` : ""),
    reasons.length ? h("table", { class: "reasons" },
      h("thead", {}, h("tr", {}, h("th", {}, "Reason"), h("th", {}, "Declined"), h("th", {}, "Of processed"))),
      h("tbody", {}, reasons.map((r) => h("tr", {}, h("td", {}, r.reason), h("td", {}, String(r.declined)), h("td", {}, String(r.processed)))))) : null);
}

export function queueView() {
  const body = h("tbody", { id: "queue" });
  const root = h("section", {},
    h("div", { class: "toolbar" }, h("h2", {}, "Launch queue")),
    h("table", {}, h("thead", {}, h("tr", {}, ["App", "Waiting", "Since", "Delay", "Offers", ""].map((c) => h("th", {}, c)))), body));

  return {
    root,
    title: "Queue",
    async refresh() {
      const list = await api.listQueue();
      fill(body, list.length ? list.map((q) => {
        const id = q.app?.id ?? q.pod?.id;
        const delayed = q.delay && !q.delay.overdue;
        return h("tr", { "data-app": id },
          h("td", {}, q.app ? appLink(id) : id),
          h("td", {}, `${q.count} instance(s)`),
          h("td", { title: q.since ?? "" }, ago(q.since)),
          h("td", {}, delayed ? `${seconds(q.delay.timeLeftSeconds)} left` : "none"),
          h("td", {}, queueReasons(q)),
          h("td", {}, delayed ? h("button", { class: "small", onclick: () => actions.resetDelay(id) }, "Launch now") : null));
      }) : h("tr", {}, h("td", { colspan: 6, class: "empty" }, "Nothing waits for launch.")));
    },
  };
}
