/**
 * 32-bit string hashing for routing. Every proxy replica must compute the same
 * value for the same key, so this is a pure function of the string and seed.
 *
 * FNV-1a over UTF-16 code units followed by murmur3's fmix32 finaliser: FNV
 * alone has weak avalanche in the low bits (which `hash % tableSize` uses),
 * and the finaliser fixes that at the cost of five integer operations.
 */
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export function hash32(key: string, seed = 0): number {
  let h = (FNV_OFFSET ^ seed) >>> 0;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return fmix32(h);
}

/** murmur3's 32-bit finaliser: full avalanche of every input bit. */
export function fmix32(input: number): number {
  let h = input;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
