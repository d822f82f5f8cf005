// Stand-ins for matrix-js-sdk's call modules (WebRTC, MatrixRTC) where the client module imports
// them (aliased in vite.config.js); without these it pulls ~420 KB of call code into the first load.
// Everything the client calls on them at run time is here and does nothing. The real 1:1 call code
// is loaded when a call starts or rings (src/call_watch.js, src/calls.js installs it on the client).
export const supportsMatrixCall = () => false;
export const createNewMatrixCall = () => null;
export class CallEventHandler { start() {} stop() {} }
export class GroupCallEventHandler { start() {} stop() {} getGroupCallById() { return undefined; } }
export class GroupCall {}
export class MediaHandler { stopAllStreams() {} }
export class MatrixRTCSessionManager {
  start() {}
  stop() {}
  getRoomSession() { return undefined; }
}
export const RTC_NOTIFICATION_MAX_LIFETIME_MS = 120000;
