/** The part of the `http_ece` package (RFC 8188 / RFC 8291 reference implementation) the e2e stand-in uses. */
declare module 'http_ece' {
  import type { ECDH } from 'node:crypto';
  /** Decrypts an encrypted-content-coding body; for `aes128gcm` the header carries salt, rs and the sender key. */
  export function decrypt(buffer: Buffer, params: { version: 'aes128gcm'; privateKey: ECDH; authSecret: string | Buffer }): Buffer;
}
