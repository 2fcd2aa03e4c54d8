/**
 * Past this much input aedes has not read yet, a listener stops reading the connection: the sender
 * then sees TCP back-pressure instead of the broker buffering its data (a broker waiting on a stuck
 * subscriber took in 20-50 MB from one fast TCP publisher, 188 MiB in half a second over ws://).
 * aedes itself reads no further while it has packets in hand (the aedes patch, lib/client.js
 * onConnReadable), so the input piles up here and the limit binds.
 */
export const READ_HIGH_WATER_MARK = 256 * 1024;
