/** How a check ends other than passing: it throws one of these. */
export class CheckFailed extends Error {}

/** The statement cannot be checked against this broker as described (a setting the flags do not give). */
export class CheckSkipped extends Error {}

export function fail(detail: string): never {
  throw new CheckFailed(detail);
}

export function skip(reason: string): never {
  throw new CheckSkipped(reason);
}

/** Fails with `detail` unless `condition` holds. */
export function expect(condition: unknown, detail: string): asserts condition {
  if (!condition) throw new CheckFailed(detail);
}
