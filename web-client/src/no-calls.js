// Stand-ins for matrix-js-sdk's call modules (WebRTC, MatrixRTC), aliased in vite.config.js. The
// seekers' app has no calls yet; without these the client module pulls ~420 KB of call code into
// the bundle. Everything the client calls on them at run time is here and does nothing.
export const supportsMatrixCall = () => false;
export const createNewMatrixCall = () => null;
export class CallEventHandler { start() {} stop() {} }
export class GroupCallEventHandler { start() {} stop() {} }
export class GroupCall {}
export class MediaHandler { stopAllStreams() {} }
export class MatrixRTCSessionManager {
  start() {}
  stop() {}
  getRoomSession() { return undefined; }
}
export const RTC_NOTIFICATION_MAX_LIFETIME_MS = 120000;
