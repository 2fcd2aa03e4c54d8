/**
 * Past this much input aedes has not read yet, a listener stops reading the connection: the sender
 * then sees TCP back-pressure instead of the broker buffering its data (a broker waiting on a stuck
 * subscriber otherwise takes in whatever a fast publisher sends; docs/reliability.md has the figures).
 * aedes itself reads no further while it has packets in hand (the aedes patch, lib/client.js
 * onConnReadable), so the input piles up here and the limit binds.
 */
export const READ_HIGH_WATER_MARK = 256 * 1024;
