// Draws the app icons into public/ (run once after changing the mark; the PNGs are committed):
// "any" icons are a rounded blue square with the white mark on transparency, for launchers that
// show an icon as it is; the "maskable" one fills the whole square, the mark inside the 80 % safe
// zone, for launchers that cut their own shape. Plain RGBA PNGs, written with zlib.
import { writeFileSync } from "node:fs";
import { deflateSync } from "node:zlib";

const BLUE = [0x0b, 0x5c, 0xad, 255], WHITE = [255, 255, 255, 255], CLEAR = [0, 0, 0, 0];

function crc32(buf) {
  let c = ~0;
  for (const b of buf) { c ^= b; for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1)); }
  return ~c >>> 0;
}
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "ascii");
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
function png(size, pixel) {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;  // no filter
    for (let x = 0; x < size; x++) raw.set(pixel(x + 0.5, y + 0.5, size), y * (size * 4 + 1) + 1 + x * 4);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0); header.writeUInt32BE(size, 4);
  header[8] = 8; header[9] = 6;  // 8-bit RGBA
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", header),
    chunk("IDAT", deflateSync(raw, { level: 9 })), chunk("IEND", Buffer.alloc(0))]);
}
const inCircle = (x, y, s, r) => (x - s / 2) ** 2 + (y - s / 2) ** 2 <= (r * s) ** 2;
function inRoundedSquare(x, y, s, margin, radius) {
  const lo = margin * s, hi = s - margin * s, r = radius * s;
  if (x < lo || x > hi || y < lo || y > hi) return false;
  const cx = Math.min(Math.max(x, lo + r), hi - r), cy = Math.min(Math.max(y, lo + r), hi - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}
const any = (x, y, s) => (inCircle(x, y, s, 0.28) ? WHITE : inRoundedSquare(x, y, s, 0.04, 0.18) ? BLUE : CLEAR);
const maskable = (x, y, s) => (inCircle(x, y, s, 0.32) ? WHITE : BLUE);

const dir = new URL("../public/", import.meta.url);
for (const size of [192, 512]) writeFileSync(new URL(`icon-any-${size}.png`, dir), png(size, any));
writeFileSync(new URL("icon-maskable-512.png", dir), png(512, maskable));
