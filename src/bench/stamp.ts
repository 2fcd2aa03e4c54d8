/**
 * Every bench payload starts with 16 bytes: which publisher sent it (u32 LE), its sequence number
 * (u32 LE) and the time it was sent, or was due, on the generator's monotonic clock in µs (f64 LE).
 * Both ends run in the generator's one process, so the clock needs no sync.
 */
export const STAMP_BYTES = 16;

/** The generator's clock, µs. */
export const nowUs = () => performance.now() * 1000;
