// Small display helpers.

export function ago(ts, now = Date.now()) {
  if (!ts) return "";
  const s = Math.round((now - Date.parse(ts)) / 1000);
  if (Number.isNaN(s)) return ts;
  if (s < 0) return "just now";
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** 0.1 → "0.1", 0.30000000000000004 → "0.3". */
export const num = (n) => (typeof n === "number" ? String(Math.round(n * 1000) / 1000) : "");

export const mem = (mib) => (mib >= 1024 ? `${num(mib / 1024)} GiB` : `${num(mib)} MiB`);

export const seconds = (s) => (s >= 60 ? `${Math.floor(s / 60)}m ${Math.round(s % 60)}s` : `${Math.round(s)}s`);

/** Marathon's version timestamps, shorter: "2024-05-01 12:00:03.123". */
export const version = (v) => (v ? v.replace("T", " ").replace("Z", "") : "");
