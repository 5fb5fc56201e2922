/**
 * Why the server answered `GET /devices/connect` with an HTTP response instead of the upgrade. The body is an RFC 9457
 * problem whose `detail` is safe to log (the internal reason never leaves the server); 401 and 403 mean the device
 * credential was refused: an unknown, expired or revoked certificate, or a replayed JWT.
 */
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';

const MAX_BODY = 4096;
const problemSchema = z.object({ title: z.string().optional(), detail: z.string().optional() });

/** A refused handshake, ready to log. */
export interface Refusal {
  readonly status: number;
  readonly reason: string;
  /** True for 401 and 403: retrying with the same certificate will not help until an operator acts. */
  readonly authFailure: boolean;
}

// Printable ASCII only, one line: the text comes from the network.
const clean = (text: string): string => text.replace(/[^\x20-\x7e]+/g, ' ').trim().slice(0, 200);

/** Reads at most 4 KiB of a refusal's body and summarises it; never rejects. */
export async function refusalOf(res: IncomingMessage): Promise<Refusal> {
  const status = res.statusCode ?? 0;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.byteLength;
      if (size >= MAX_BODY) break;
    }
  } catch {
    /* a broken body still leaves the status */
  }
  const text = Buffer.concat(chunks).subarray(0, MAX_BODY).toString('utf8');
  let reason = res.statusMessage ?? '';
  try {
    const problem = problemSchema.safeParse(JSON.parse(text));
    if (problem.success) reason = problem.data.detail ?? problem.data.title ?? reason;
  } catch {
    if (text.trim()) reason = text;
  }
  return { status, reason: clean(reason) || `HTTP ${status}`, authFailure: status === 401 || status === 403 };
}
