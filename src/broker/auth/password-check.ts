// Checking passwords without letting the hashing starve the broker or tell who exists: a cap on
// verifications at once, a back-off per address after failures, and the same work for every failure.
import { PASSWORD_HASH } from "./password-file";

export interface PasswordCheckLimits {
  /** Verifications running at once; more wait their turn (Bun hashes on its worker threads). */
  maxConcurrent: number;
  /** Logins waiting for a turn; one more is refused at once as "server unavailable". */
  maxWaiting: number;
  /** After the nth failure in a row from an address, its next login waits base × 2^(n-1), at most max. */
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export const DEFAULT_PASSWORD_CHECK_LIMITS: PasswordCheckLimits = { maxConcurrent: 2, maxWaiting: 64, backoffBaseMs: 250, backoffMaxMs: 8_000 };

export type PasswordVerdict = "accepted" | "refused" | "busy";

/** How long an address must wait after `failures` failed logins in a row. Pure. */
export function backoffMs(failures: number, limits: PasswordCheckLimits): number {
  if (failures <= 0) return 0;
  return Math.min(limits.backoffBaseMs * 2 ** Math.min(failures - 1, 30), limits.backoffMaxMs);
}

/**
 * The hash kind, cost parameters included: `$argon2id$v=19$m=19456,t=2,p=1`, `$2b$10`. Two hashes
 * of one kind cost the same to verify. Pure.
 */
export function hashKind(hash: string): string {
  const fields = hash.split("$");
  return fields[1]?.startsWith("argon2") ? fields.slice(0, 4).join("$") : fields.slice(0, 3).join("$");
}

/** One hash of each kind in the file: what a failure is also verified against, so all failures cost alike. */
export function hashesByKind(users: ReadonlyMap<string, string>): Map<string, string> {
  const kinds = new Map<string, string>();
  for (const hash of users.values()) if (!kinds.has(hashKind(hash))) kinds.set(hashKind(hash), hash);
  return kinds;
}

const ADDRESSES_KEPT = 10_000;
/** Failures older than this are forgotten: a typo last week costs nothing today. */
const FAILURES_FORGOTTEN_AFTER_MS = 10 * 60_000;

export class PasswordChecker {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly failures = new Map<string, { count: number; lastAt: number }>();
  private readonly kindsOf = new WeakMap<ReadonlyMap<string, string>, Map<string, string>>();
  private defaultDummy: Promise<string> | undefined;

  constructor(
    private readonly limits: PasswordCheckLimits = DEFAULT_PASSWORD_CHECK_LIMITS,
    private readonly verifyHash: (password: string, hash: string) => Promise<boolean> = (password, hash) => Bun.password.verify(password, hash),
  ) {}

  /** How long the next login from `address` would wait before its check. */
  backoffFor(address: string | undefined): number {
    return backoffMs(this.failures.get(address ?? "")?.count ?? 0, this.limits);
  }

  /**
   * Checks a login from `address` (undefined: not known) against `users`. A known user with a wrong
   * or missing password, and an unknown user, cost one verification of every hash kind the file
   * holds (the user's own hash, others' hashes for the other kinds, their result ignored), so the
   * time of a refusal tells neither whether the user exists nor which kind of hash it has.
   */
  async check(users: ReadonlyMap<string, string>, address: string | undefined, username: string, password: Readonly<Buffer> | string | undefined): Promise<PasswordVerdict> {
    const key = address ?? "";
    const past = this.failures.get(key);
    if (past && performance.now() - past.lastAt > FAILURES_FORGOTTEN_AFTER_MS) this.failures.delete(key);
    const wait = this.backoffFor(address);
    if (wait > 0) await Bun.sleep(wait);
    if (this.running >= this.limits.maxConcurrent) {
      if (this.waiting.length >= this.limits.maxWaiting) return "busy";
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.running++;
    try {
      const accepted = await this.verify(users, username, typeof password === "string" ? password : password ? Buffer.from(password).toString("utf8") : "");
      this.remember(key, accepted);
      return accepted ? "accepted" : "refused";
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  /** A login from HTTP (the console's form, /metrics' Basic header): accepted or not, "busy" counting as not. */
  async accepts(users: ReadonlyMap<string, string>, address: string | undefined, username: string, password: string): Promise<boolean> {
    return (await this.check(users, address, username, password)) === "accepted";
  }

  private async verify(users: ReadonlyMap<string, string>, username: string, candidate: string): Promise<boolean> {
    const own = users.get(username);
    if (own !== undefined && (await this.verifyHash(candidate, own))) return true;
    let kinds = this.kindsOf.get(users);
    if (!kinds) this.kindsOf.set(users, (kinds = hashesByKind(users)));
    if (kinds.size === 0) {
      this.defaultDummy ??= Bun.password.hash("not a password", PASSWORD_HASH);
      await this.verifyHash(candidate, await this.defaultDummy);
      return false;
    }
    const ownKind = own === undefined ? undefined : hashKind(own);
    for (const [kind, hash] of kinds) if (kind !== ownKind) await this.verifyHash(candidate, hash);
    return false;
  }

  private remember(key: string, accepted: boolean): void {
    if (accepted) {
      this.failures.delete(key);
      return;
    }
    const entry = this.failures.get(key);
    if (entry) {
      entry.count++;
      entry.lastAt = performance.now();
      // Moved to the end, so the oldest failures are first to go below.
      this.failures.delete(key);
      this.failures.set(key, entry);
      return;
    }
    // Bounded: past it, forget the addresses whose last failure is oldest (Map keeps insertion order).
    if (this.failures.size >= ADDRESSES_KEPT) for (const old of [...this.failures.keys()].slice(0, ADDRESSES_KEPT / 10)) this.failures.delete(old);
    this.failures.set(key, { count: 1, lastAt: performance.now() });
  }
}
