// Every language's strings at once, for the build (the web manifests) and the tests; the app itself
// loads one language at a time (src/i18n.js).
import de from "./catalog/de.js";
import en from "./catalog/en.js";
import ar from "./catalog/ar.js";
import fa from "./catalog/fa.js";
import ru from "./catalog/ru.js";
import uk from "./catalog/uk.js";
import tr from "./catalog/tr.js";

export const CATALOG = { de, en, ar, fa, ru, uk, tr };
