// Writes a .gz beside every compressible file of dist/ so lotse can serve precompressed assets
// (the crypto WASM shrinks from ~7.8 MB to ~2.1 MB on the wire).
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const dist = new URL("./dist/", import.meta.url).pathname;
const walk = (dir) => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)]));
for (const file of walk(dist)) {
  if (!/\.(js|mjs|css|html|wasm|json|webmanifest|svg)$/.test(file)) continue;
  writeFileSync(`${file}.gz`, gzipSync(readFileSync(file), { level: 9 }));
}
