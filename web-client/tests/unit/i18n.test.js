// The catalogue: every language has every string; errors map to messages, never to codes.
import { beforeAll, describe, expect, it } from "vitest";
import { LANGUAGES, CHOOSE_LANGUAGE, errorKey, isRtl, translator, loadLanguage } from "../../src/i18n.js";
import { CATALOG } from "../../src/all_languages.js";
import { noticeText } from "../../src/notices.js";

describe("catalogue", () => {
  const keys = Object.keys(CATALOG.de).sort();
  it.each(Object.keys(LANGUAGES))("%s has every string, none empty", (lang) => {
    expect(Object.keys(CATALOG[lang]).sort()).toEqual(keys);
    for (const k of keys) expect(CATALOG[lang][k].trim().length).toBeGreaterThan(0);
  });
  it("Arabic and Farsi are right-to-left, the others not", () => {
    expect(Object.keys(LANGUAGES).filter(isRtl)).toEqual(["ar", "fa"]);
  });
  it("falls back to German for an unknown language", async () => {
    await loadLanguage("xx");
    expect(translator("xx")("chat.send")).toBe("Senden");
  });
  it("loads a language when it is chosen; until then its strings are German", async () => {
    expect(translator("tr")("chat.send")).toBe(CATALOG.de["chat.send"]);
    await loadLanguage("tr");
    expect(translator("tr")("chat.send")).toBe(CATALOG.tr["chat.send"]);
    expect(CATALOG.tr["chat.send"]).not.toBe(CATALOG.de["chat.send"]);
  });
  it("asks for the language in every language", () => {
    expect(Object.keys(CHOOSE_LANGUAGE)).toEqual(Object.keys(LANGUAGES));
  });
});

describe("errorKey", () => {
  it("maps Matrix errors to messages a seeker can act on", () => {
    expect(errorKey({ errcode: "M_USER_IN_USE" })).toBe("error.taken");
    expect(errorKey({ errcode: "M_FORBIDDEN", reason: "too_many_open_consultations" })).toBe("error.tooManyConsultations");
    expect(errorKey({ errcode: "M_FORBIDDEN", context: "login" })).toBe("error.wrongPassword");
    expect(errorKey({ data: { errcode: "M_TOO_LARGE" } })).toBe("error.tooLarge");
    expect(errorKey({ errcode: "M_LIMIT_EXCEEDED" })).toBe("error.limit");
    expect(errorKey(new TypeError("Failed to fetch"))).toBe("error.unreachable");
    expect(errorKey({ errcode: "M_WEAK_PASSWORD" })).toBe("error.weakPassword");
    expect(errorKey({ errcode: "M_NOT_FOUND" })).toBe("error.notFound");
    expect(errorKey({ errcode: "M_FORBIDDEN" })).toBe("error.forbidden");
    expect(errorKey({ errcode: "M_WEIRD" })).toBe("error.generic");
  });
});

describe("noticeText", () => {
  let en, ar;
  beforeAll(async () => {
    await Promise.all([loadLanguage("en"), loadLanguage("ar")]);
    en = translator("en");
    ar = translator("ar");
  });
  it("translates the imported system events by their code, with their details", () => {
    expect(noticeText(en, "en", { msgtype: "m.notice", body: "So geht es weiter …", "de.lotse.notice": "FURTHER_STEPS" }))
      .toBe(CATALOG.en["notice.FURTHER_STEPS"]);
    expect(noticeText(ar, "ar", { "de.lotse.notice": "FINISHED_CONVERSATION" })).toBe(CATALOG.ar["notice.FINISHED_CONVERSATION"]);
    expect(noticeText(en, "en", { "de.lotse.notice": "VIDEOCALL", "de.lotse.details": { eventType: "CALL_ENDED" } })).toBe("The video call ended.");
    expect(noticeText(en, "en", { "de.lotse.notice": "REASSIGN_CONSULTANT", "de.lotse.details": { status: "CONFIRMED", toConsultantName: "Jonas Weber" } }))
      .toBe("The consultation was handed over to Jonas Weber.");
    expect(noticeText(en, "en", { "de.lotse.notice": "FILE_MISSING", "de.lotse.details": { name: "a.pdf" } })).toContain("“a.pdf”");
    expect(noticeText(en, "en", { "de.lotse.notice": "APPOINTMENT_SET", "de.lotse.details": { datetime: "2019-12-25T09:27:24Z" } })).toMatch(/^Appointment: .*2019/);
    expect(noticeText(en, "en", { msgtype: "m.text", body: "x", "de.lotse.legacy_e2e": true })).toBe(CATALOG.en["notice.LEGACY_E2E"]);
  });
  it("leaves what it does not know to the event's own text", () => {
    expect(noticeText(en, "en", { msgtype: "m.notice", body: "Hallo" })).toBe(null);
    expect(noticeText(en, "en", { "de.lotse.notice": "SOMETHING_NEW" })).toBe(null);
    expect(noticeText(en, "en", { "de.lotse.notice": "REASSIGN_CONSULTANT", "de.lotse.details": { status: "REQUESTED" } })).toBe(null);
  });
});
