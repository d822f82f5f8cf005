// The texts of notices that carry a code (lotse-bridge's imported system events, `de.lotse.notice`,
// and its placeholders for old end-to-end messages, `de.lotse.legacy_e2e`) in the seeker's language.
// The event's own body (German) is the fallback for a code this version does not know.
import { formatDate } from "./i18n.js";

const CALLS = { CALL_STARTED: "notice.CALL_STARTED", CALL_ENDED: "notice.CALL_ENDED", IGNORED_CALL: "notice.IGNORED_CALL" };
const SIMPLE = new Set(["FURTHER_STEPS", "UPDATE_SESSION_DATA", "E2EE_ACTIVATED", "MASTER_KEY_LOST", "FINISHED_CONVERSATION", "FILE_MISSING"]);

function when(lang, text) {
  const d = new Date(text ?? "");
  if (Number.isNaN(d.getTime())) return text ?? "";
  return formatDate(lang, d, { dateStyle: "medium", timeStyle: "short" });
}

// The translated text, or null when the notice has no known code.
export function noticeText(t, lang, content) {
  if (content?.["de.lotse.legacy_e2e"]) return t("notice.LEGACY_E2E");
  const code = content?.["de.lotse.notice"];
  if (typeof code !== "string") return null;
  const details = content["de.lotse.details"] ?? {};
  const fill = (key, values) => t(key).replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? ""));
  if (code === "VIDEOCALL") return CALLS[details.eventType] ? t(CALLS[details.eventType]) : null;
  if (code === "APPOINTMENT_CANCELLED") return fill("notice.APPOINTMENT_CANCELLED", { when: when(lang, details.datetime) });
  if (code.startsWith("APPOINTMENT") || code === "INITIAL_APPOINTMENT_DEFINED") return fill("notice.APPOINTMENT", { when: when(lang, details.datetime) });
  if (code === "REASSIGN_CONSULTANT") return details.status === "CONFIRMED" ? fill("notice.REASSIGNED", { name: details.toConsultantName ?? "" }) : null;
  if (SIMPLE.has(code)) return fill(`notice.${code}`, { name: details.name ?? "" });
  return null;
}
