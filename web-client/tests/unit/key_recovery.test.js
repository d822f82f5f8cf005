// The password KDF (src/key_recovery.js): PBKDF2-SHA-512 with >= 600,000 iterations, salted with the
// account, split into a login secret and a Secret Storage key that are independent of each other.
import { describe, expect, it } from "vitest";
import { pbkdf2Sync } from "node:crypto";
import { deriveKeys, localpart, KDF_ITERATIONS, KDF_SALT_PREFIX } from "../../src/key_recovery.js";

describe("deriveKeys", () => {
  it("uses PBKDF2-SHA-512 with at least 600,000 iterations", () => {
    expect(KDF_ITERATIONS).toBeGreaterThanOrEqual(600_000);
  });
  it("matches an independent PBKDF2-SHA-512 (Node's OpenSSL), split in two halves", async () => {
    const keys = await deriveKeys("sonnenblume", "geheim-genug-123");
    const ref = pbkdf2Sync("geheim-genug-123", KDF_SALT_PREFIX + "sonnenblume", KDF_ITERATIONS, 64, "sha512");
    expect(keys.loginSecret).toBe(ref.subarray(0, 32).toString("base64").replace(/=+$/, ""));
    expect(Buffer.from(keys.secretStorageKey)).toEqual(ref.subarray(32));
  }, 20000);
  it("gives a 43-character unpadded base64 login secret and a 32-byte key, different from each other and the password", async () => {
    const keys = await deriveKeys("a", "pw-12345678", 1000);
    expect(keys.loginSecret).toMatch(/^[A-Za-z0-9+/]{43}$/);
    expect(keys.secretStorageKey).toBeInstanceOf(Uint8Array);
    expect(keys.secretStorageKey.length).toBe(32);
    expect(Buffer.from(keys.secretStorageKey).toString("base64").replace(/=+$/, "")).not.toBe(keys.loginSecret);
  });
  it("is salted with the account: the same password gives other keys for another pseudonym", async () => {
    const a = await deriveKeys("anna", "same-password", 1000);
    const b = await deriveKeys("bert", "same-password", 1000);
    expect(a.loginSecret).not.toBe(b.loginSecret);
    expect(Buffer.from(a.secretStorageKey)).not.toEqual(Buffer.from(b.secretStorageKey));
  });
  it("is deterministic, and normalises the password (NFC) and the typed name", async () => {
    const a = await deriveKeys(" anna ", "Käse-123", 1000);
    const b = await deriveKeys("@anna:lotse.example", "Ka\u0308se-123", 1000);
    expect(a.loginSecret).toBe(b.loginSecret);
    expect(localpart("@anna:x")).toBe("anna");
    expect((await deriveKeys("anna", "Käse-124", 1000)).loginSecret).not.toBe(a.loginSecret);
  });
});

describe("localpart", () => {
  // The same vectors as the bridge's localpart_for (tests/unit/bridge_decoders_test.cpp): an imported
  // seeker must reach the account the bridge made for her.
  it("maps names the way lotse-bridge does", () => {
    expect(localpart("h.almasri")).toBe("h.almasri");
    expect(localpart("Anna")).toBe("anna");
    expect(localpart(" Anna ")).toBe("anna");
    expect(localpart("Олена_77")).toBe("=d0=9e=d0=bb=d0=b5=d0=bd=d0=b0_77");
    expect(localpart("Şükrü 16")).toBe("=c5=9e=c3=bckr=c3=bc=2016");
    expect(localpart("a=b")).toBe("a=b");
    expect(localpart("A=b")).toBe("a=3db");
    expect(localpart("رضا_33")).toBe("=d8=b1=d8=b6=d8=a7_33");
    expect(localpart("@someone:example.org")).toBe("someone");
  });
  it("changes nothing when applied twice", () => {
    for (const n of ["Олена_77", "Anna", "x y"]) expect(localpart(localpart(n))).toBe(localpart(n));
  });
});
