/** A mistake in what the user typed: one line, a usage hint, exit status 2. */
export class UsageError extends Error {}
