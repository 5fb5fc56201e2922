/**
 * The documented limits of the Device Gateway and the Records API, shared by the Worker (which enforces them) and
 * the agent (which batches within them). Over a batch limit the answer is 413; an event over its own limit is
 * rejected on its own in the per-event results.
 */

/** Most events in one `POST /device-api/v1/events`. */
export const MAX_EVENTS_PER_BATCH = 100;

/** Largest `POST /device-api/v1/events` body, in bytes (512 KiB). */
export const MAX_BATCH_BYTES = 512 * 1024;

/** Largest payload of one event or record, in bytes: the compact JWE, or the JSON text (64 KiB). */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

/** Largest protected header of an event JWE, in bytes once decoded. */
export const MAX_JWE_HEADER_BYTES = 2048;

/** Largest `POST /api/orgs/:orgId/records` body, in bytes (payload, signature and envelope). */
export const MAX_RECORD_BODY_BYTES = 96 * 1024;

/** Most records in one page of `GET /api/orgs/:orgId/records`, and the default. */
export const MAX_PAGE_SIZE = 500;
export const DEFAULT_PAGE_SIZE = 100;
