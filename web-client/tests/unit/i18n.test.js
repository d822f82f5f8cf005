// The catalogue: every language has every string; errors map to messages, never to codes.
import { describe, expect, it } from "vitest";
import { CATALOG, LANGUAGES, errorKey, isRtl, translator } from "../../src/i18n.js";

describe("catalogue", () => {
  const keys = Object.keys(CATALOG.de).sort();
  it.each(Object.keys(LANGUAGES))("%s has every string, none empty", (lang) => {
    expect(Object.keys(CATALOG[lang]).sort()).toEqual(keys);
    for (const k of keys) expect(CATALOG[lang][k].trim().length).toBeGreaterThan(0);
  });
  it("Arabic and Farsi are right-to-left, the others not", () => {
    expect(Object.keys(LANGUAGES).filter(isRtl)).toEqual(["ar", "fa"]);
  });
  it("falls back to German for an unknown language", () => {
    expect(translator("xx")("chat.send")).toBe("Senden");
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
    expect(errorKey({ errcode: "M_WEIRD" })).toBe("error.generic");
  });
});
