// Who may use the console: with --password-file a user of that file logs in (a form, then a session
// cookie); without it anyone who can reach the loopback listener may. With --console-admins only the
// users named there may act (publish, disconnect, delete); the others look. Either way every
// state-changing request is a POST from the console's own origin carrying its session's token.
import { randomBytes } from "node:crypto";
import { isLoopback } from "../../core/address";
import type { PasswordChecker } from "../auth/password-check";

export const SESSION_COOKIE = "mqtt_pingpong_console";
const SESSION_IDLE_MS = 12 * 3600_000;
const MAX_SESSIONS = 1000;

export interface ConsoleSession {
  id: string;
  /** Sent in the page and back in the X-Console-Token header of each POST. */
  token: string;
  user: string | null;
  lastSeen: number;
}

/** The users as the access-control hooks read them (a SIGHUP reload swaps `users` in place), and their password checker. */
export interface ConsoleUsers {
  users?: Map<string, string>;
  /** The MQTT logins' checker: the same cap on hashing at once and back-off per address. */
  passwords: PasswordChecker;
}

export class ConsoleSessions {
  private readonly sessions = new Map<string, ConsoleSession>();

  /** `operators`: the users of --console-admins; undefined: every user may act. */
  constructor(
    private readonly access: ConsoleUsers,
    private readonly operators?: ReadonlySet<string>,
  ) {}

  /** Whether a session may change the broker's state, or only look. */
  mayAct(session: ConsoleSession): boolean {
    if (session.user === null) return !this.loginRequired;
    return this.operators === undefined || this.operators.has(session.user);
  }

  get loginRequired(): boolean {
    return this.access.users !== undefined;
  }

  /** The request's live session, if its cookie names one. */
  find(request: Request, now = Date.now()): ConsoleSession | undefined {
    const id = cookieValue(request.headers.get("cookie"), SESSION_COOKIE);
    const session = id ? this.sessions.get(id) : undefined;
    if (!session) return undefined;
    if (now - session.lastSeen > SESSION_IDLE_MS || (session.user !== null && !this.access.users?.has(session.user))) {
      this.sessions.delete(session.id);
      return undefined;
    }
    if (this.loginRequired && session.user === null) return undefined;
    session.lastSeen = now;
    return session;
  }

  create(user: string | null, now = Date.now()): ConsoleSession {
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    const session = { id: randomBytes(24).toString("base64url"), token: randomBytes(24).toString("base64url"), user, lastSeen: now };
    this.sessions.set(session.id, session);
    return session;
  }

  /** A user of the password file with the right password gets a session (src/broker/auth/password-check.ts: unknown users cost the same time). */
  async login(user: string, password: string, address: string | undefined): Promise<ConsoleSession | undefined> {
    const users = this.access.users;
    if (!users) return undefined;
    if (!(await this.access.passwords.accepts(users, address, user, password))) return undefined;
    return this.create(user);
  }

  end(session: ConsoleSession): void {
    this.sessions.delete(session.id);
  }
}

export function sessionCookie(session: ConsoleSession | undefined): string {
  const base = `${SESSION_COOKIE}=${session?.id ?? ""}; Path=/; HttpOnly; SameSite=Strict`;
  return session ? base : `${base}; Max-Age=0`;
}

/** One cookie's value from a Cookie header. */
export function cookieValue(header: string | null, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * A Host header names this listener by a loopback name or by the address it was told to bind: a page
 * from another site whose name was re-pointed at 127.0.0.1 (DNS rebinding) is refused.
 */
export function hostAllowed(hostHeader: string | null, bindHost: string): boolean {
  if (!hostHeader) return false;
  const host = hostHeader.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
  return host === bindHost || isLoopback(host) || (bindHost === "0.0.0.0" || bindHost === "::");
}

/** A POST counts only from a page of this very origin (browsers send Origin on every POST). */
export function sameOrigin(request: Request): boolean {
  const origin = request.headers.get("origin");
  const host = request.headers.get("host");
  return origin !== null && host !== null && (origin === `http://${host}` || origin === `https://${host}`);
}
