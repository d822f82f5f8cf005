// Stand-ins for matrix-js-sdk modules the seekers' app never uses, aliased in vite.config.js so
// they do not count against the 250 KB budget: sliding sync (the app uses /sync), MSC3089 file trees,
// the IndexedDB store's Web Worker backend (session.js keeps the store on the main thread), and
// .well-known discovery (the app is served by its homeserver; the client never polls it). Reaching
// one of the classes is a bug: they throw instead of doing nothing.
const unused = (what) => class { constructor() { throw new Error(`${what} is not part of the seekers' app`); } };
export const SlidingSyncSdk = unused("Sliding sync");
export const MSC3089TreeSpace = unused("MSC3089 file trees");
export const DEFAULT_TREE_POWER_LEVELS_TEMPLATE = {};
export const RemoteIndexedDBStoreBackend = unused("The IndexedDB worker backend");
// Only the client's .well-known cache calls this, and only when polling is configured (it is not).
export const AutoDiscovery = { getRawClientConfig: async () => ({}) };
