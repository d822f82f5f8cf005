// The app's languages and its strings (src/catalog/LANG.js). German is built in; another language
// is loaded when it is chosen (about 3 KB gzip each), so the first load carries one language, not
// seven; the service worker caches the others afterwards for offline use. Arabic and Farsi are
// right-to-left.
import de from "./catalog/de.js";

export const LANGUAGES = {
  de: "Deutsch", en: "English", ar: "العربية", fa: "فارسی", ru: "Русский", uk: "Українська", tr: "Türkçe",
};
// The first screen asks for the language in several of them at once, before any is loaded.
export const CHOOSE_LANGUAGE = {
  de: "Sprache wählen",
  en: "Choose your language",
  ar: "اختر لغتك",
  fa: "زبان خود را انتخاب کنید",
  ru: "Выберите язык",
  uk: "Оберіть мову",
  tr: "Dilinizi seçin",
};
const RTL = new Set(["ar", "fa"]);
export const isRtl = (lang) => RTL.has(lang);

const tables = { de };

// Loads the strings of `lang` (once); unknown languages stay German.
export async function loadLanguage(lang) {
  if (!lang || !Object.hasOwn(LANGUAGES, lang) || tables[lang]) return;
  tables[lang] = (await import(`./catalog/${lang}.js`)).default;
}

export function translator(lang) {
  const table = tables[lang] ?? de;
  return (key) => table[key] ?? de[key] ?? key;
}

// Dates and times in her language. A formatter is built once per language and form: built anew for
// each of 500 messages at every render, ICU's set-up took longer than the rest of the chat.
const formatters = new Map();
export function formatDate(lang, ts, options) {
  const key = `${lang}|${JSON.stringify(options)}`;
  let f = formatters.get(key);
  if (!f) formatters.set(key, f = new Intl.DateTimeFormat(lang, options));
  return f.format(ts);
}
export const TIME = { hour: "2-digit", minute: "2-digit" };

// The message for an error a person can act on, never a raw error code.
export function errorKey(err) {
  if (globalThis.navigator?.onLine === false) return "error.offline";
  const code = err?.errcode ?? err?.data?.errcode;
  if (code === "M_USER_IN_USE") return "error.taken";
  if (code === "M_UNKNOWN_TOKEN") return "session.revoked";
  if (code === "M_FORBIDDEN" && err?.context === "login") return "error.wrongPassword";
  if (code === "M_TOO_LARGE") return "error.tooLarge";
  if (code === "M_LIMIT_EXCEEDED") return "error.limit";
  if (err?.reason === "too_many_open_consultations") return "error.tooManyConsultations";
  if (code === "M_WEAK_PASSWORD") return "error.weakPassword";
  if (code === "M_NOT_FOUND") return "error.notFound";
  if (code === "M_FORBIDDEN") return "error.forbidden";
  if (err?.name === "ConnectionError" || err instanceof TypeError) return "error.unreachable";
  return "error.generic";
}
