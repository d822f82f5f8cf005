import { TypedEventEmitter } from "matrix-js-sdk/lib/models/typed-event-emitter.js";

// Stand-ins for matrix-js-sdk modules the seekers' app never uses, aliased in vite.config.js so
// they do not count against the 250 KB budget: sliding sync (the app uses /sync), MSC3089 file trees,
// MSC4354 sticky events (Lotse's server has none),
// the IndexedDB store's Web Worker backend (session.js keeps the store on the main thread), and
// .well-known discovery (the app is served by its homeserver; the client never polls it). The
// classes of unused features throw when constructed (reaching one is a bug); the sticky-event
// store, which every room constructs, holds nothing.
const unused = (what) => class { constructor() { throw new Error(`${what} is not part of the seekers' app`); } };
export const SlidingSyncSdk = unused("Sliding sync");
export const MSC3089TreeSpace = unused("MSC3089 file trees");
export const DEFAULT_TREE_POWER_LEVELS_TEMPLATE = {};
export const RemoteIndexedDBStoreBackend = unused("The IndexedDB worker backend");
// Only the client's .well-known cache calls this, and only when polling is configured (it is not).
export const AutoDiscovery = { getRawClientConfig: async () => ({}) };

// Rooms keep no MSC4354 sticky events: the server sends none, so there is nothing to track.
export const RoomStickyEventsEvent = { Update: "RoomStickyEvents.Update" };
export class RoomStickyEventsStore extends TypedEventEmitter {
  *getStickyEvents() { /* none */ }
  getKeyedStickyEvent() { return undefined; }
  getUnkeyedStickyEvent() { return undefined; }
  addStickyEvents() {}
  handleRedaction() {}
  clear() {}
}
