/**
 * The byte stream the tunnel benchmark moves: a pseudo-random block (xorshift, no runs a compressor or a bug could hide
 * in) repeated end to end. The block is 1 MiB + 17 bytes, so it never lines up with chunk or window boundaries: a
 * dropped, repeated or reordered chunk shifts everything after it and fails the check. Checking is a memcmp against
 * the block, cheap enough not to cap the throughput being measured (a SHA-256 of every byte would).
 */
export const BLOCK_BYTES = (1 << 20) + 17;

function makeBlock(n: number): Buffer {
  const out = Buffer.alloc(n);
  let x = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export const BLOCK = makeBlock(BLOCK_BYTES);

/** Bytes `[offset, offset + length)` of the endless stream, as views into the block (no copies). */
export function* slices(offset: number, length: number, chunk = 64 * 1024): Generator<Buffer> {
  let at = offset;
  const end = offset + length;
  while (at < end) {
    const inBlock = at % BLOCK_BYTES;
    const n = Math.min(chunk, end - at, BLOCK_BYTES - inBlock);
    yield BLOCK.subarray(inBlock, inBlock + n);
    at += n;
  }
}

/** Checks a stream chunk by chunk against the pattern; `firstBad` is the first offset that differed, if any. */
export function createChecker() {
  let offset = 0;
  let firstBad: number | undefined;
  return {
    update(chunk: Uint8Array): void {
      let i = 0;
      while (i < chunk.byteLength) {
        const inBlock = offset % BLOCK_BYTES;
        const n = Math.min(chunk.byteLength - i, BLOCK_BYTES - inBlock);
        if (firstBad === undefined && Buffer.compare(chunk.subarray(i, i + n), BLOCK.subarray(inBlock, inBlock + n)) !== 0) firstBad = offset;
        i += n;
        offset += n;
      }
    },
    get bytes() {
      return offset;
    },
    get firstBad() {
      return firstBad;
    },
  };
}
