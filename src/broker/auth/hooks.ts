// aedes's authenticate / authorize hooks for a password file, an ACL and the identity flags: the one
// place where the broker decides who a client is and what it may publish and read.
import type { AedesOptions, AuthenticateError, Client } from "aedes";
import { log } from "../../log";
import type { PasswordChecker } from "./password-check";
import { mayAccessTopic, maySubscribe, rulesFor, type Acl, type ClientRules } from "./acl";
import { clientInternals, remoteAddressOf } from "../aedes-internals";
import { certificateCommonName, loginOf, recordLogin, stampedIdentity, stampWill, type ConnectingClient } from "./identity";

/** Read at every check, so a reload (src/broker/setup/reload.ts) can swap `users` and `acl` in place. */
export interface AccessControlOptions {
  /** user -> hash from --password-file; without it every user name is taken on trust. */
  users?: Map<string, string>;
  /** With a password file: may clients that send no user name connect? */
  allowAnonymous: boolean;
  /** From --acl-file; without it every client may publish and subscribe to anything. */
  acl?: Acl;
  /** --use-username-as-client-id: the user name replaces the client id, so a user has one session. */
  useUsernameAsClientId?: boolean;
  /** --use-identity-as-username: a TLS client's certificate CN is its user name (no password asked). */
  useIdentityAsUsername?: boolean;
  /** Password checks, shared with the console's and /metrics' logins: one cap on hashing and one back-off per address for all. */
  passwords: PasswordChecker;
}

type Hooks = Pick<AedesOptions, "authenticate" | "authorizePublish" | "authorizeSubscribe" | "authorizeForward">;

// CONNACK return codes (3.1.1); aedes maps them to 0x86 / 0x87 for MQTT 5.
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

/**
 * The one refusal of a PUBLISH, made once (aedes only reads it). 3.1.1 has no way to say no to a
 * PUBLISH (closing would make the client resend it for ever): `drop` makes aedes acknowledge it and
 * drop it (patches/aedes/60-*, read for 3.1.1 only). MQTT 5 gets 0x87; a will is deleted unpublished.
 */
const PUBLISH_REFUSED = Object.assign(new Error("not authorized"), { drop: true });

/** A user name, or undefined for an anonymous client. */
type User = string | undefined;

export function accessControlHooks(options: AccessControlOptions): Hooks {
  const hooks: Hooks = {};
  // Keyed by the ACL they came from: after a reload swaps `options.acl` (SIGHUP), a client's next
  // publish, subscribe or delivery is checked against the new rules.
  const rulesByClient = new WeakMap<Client, { acl: Acl; rules: ClientRules }>();
  const rules = (client: Client) => {
    const acl = options.acl!;
    let found = rulesByClient.get(client);
    if (found?.acl !== acl) rulesByClient.set(client, (found = { acl, rules: rulesFor(acl, loginOf(client) ?? undefined, client.id) }));
    return found.rules;
  };

  if (options.users || options.acl || options.useUsernameAsClientId || options.useIdentityAsUsername) {
    hooks.authenticate = (client, username, password, done) => {
      login(options, clientInternals(client), username ?? undefined, password).then(
        (user) => {
          if (user instanceof Error) return done(user, false);
          recordLogin(client, user);
          const refused = admit(clientInternals(client), user);
          done(refused ?? null, !refused);
        },
        (error: Error) => done(refusal(NOT_AUTHORIZED, error.message), false),
      );
    };
  }

  /** After the login: the client id, then the will, which is refused now rather than dropped later. */
  const admit = (client: ConnectingClient, user: User): AuthenticateError | undefined => {
    if (options.useUsernameAsClientId) {
      if (user === undefined) return refused(client, "no user name to use as client id (not authorized)", NOT_AUTHORIZED);
      if (client._assignedClientId !== undefined) client._assignedClientId = user;
      client.id = user;
    }
    const will = client._will;
    if (!options.acl || !will) return undefined;
    if (!mayPublish(rules(client as unknown as Client), will.topic)) return refused(client, `may not publish its will to ${will.topic} (not authorized)`, NOT_AUTHORIZED);
    // A will may be published long after, from a store, with no client attached: it carries who set it.
    stampWill(will, user, client.id);
    return undefined;
  };

  if (!options.acl) return hooks;

  // The decision point for every PUBLISH: a refused one goes no further (no routing, no retained
  // store, no offline queue, nothing to Redis). A will is judged as the user who set it.
  hooks.authorizePublish = (client, packet, callback) => {
    const stamp = stampedIdentity(packet);
    const allowed = stamp
      ? mayPublish(rulesFor(options.acl!, stamp.username, stamp.clientId), packet.topic)
      : client !== null && mayPublish(rules(client), packet.topic);
    if (allowed) return callback(null);
    const who = stamp ? `The will of client ${stamp.clientId}` : client ? `Client ${client.id}` : "A message with no client nor stored user";
    log.info(`${who} may not publish to ${packet.topic}; dropped.`);
    callback(PUBLISH_REFUSED);
  };

  hooks.authorizeSubscribe = (client, subscription, callback) => {
    if (maySubscribe(rules(client), subscription.topic)) return callback(null, subscription);
    log.info(`Client ${client.id} may not subscribe to ${subscription.topic}; refused.`);
    callback(null, null); // SUBACK 0x80 (3.1.1) / 0x87 (5)
  };

  hooks.authorizeForward = (client, packet) => (mayAccessTopic(rules(client), packet.topic, "read") ? packet : null);
  return hooks;
}

/** $SYS is the broker's own: no client writes there, whatever the rules say. */
function mayPublish(rules: ClientRules, topic: string): boolean {
  return !topic.startsWith("$SYS") && mayAccessTopic(rules, topic, "write");
}

/** Who the client is: its user name, undefined when anonymous, or the refusal to send it. */
async function login(options: AccessControlOptions, client: ConnectingClient, username: User, password: Readonly<Buffer> | undefined): Promise<User | AuthenticateError> {
  if (options.useIdentityAsUsername) {
    // The certificate is the login, as with mosquitto's use_identity_as_username: no password asked.
    const commonName = certificateCommonName(client.conn);
    if (commonName !== undefined) return commonName;
    // Other listeners: a password from the file, or anonymous if allowed; a name alone proves nothing.
    if (!options.users) return options.allowAnonymous ? undefined : refused(client, "no client certificate (not authorized)", NOT_AUTHORIZED);
  }
  if (!options.users) return username;
  if (username === undefined) return options.allowAnonymous ? undefined : refused(client, "no user name (not authorized)", NOT_AUTHORIZED);
  const verdict = await options.passwords.check(options.users, remoteAddressOf(client.conn), username, password);
  if (verdict === "accepted") return username;
  if (verdict === "busy") return refused(client, "too many logins waiting to be checked (server unavailable)", SERVER_UNAVAILABLE);
  // The password is never logged, whatever happens.
  return refused(client, `bad user name or password (user "${username}")`, BAD_USERNAME_OR_PASSWORD);
}

/** Logs why a CONNECT is refused and makes its refusal: CONNACK 4 or 5 (3.1.1), 0x86 or 0x87 (5). */
function refused(client: ConnectingClient, why: string, returnCode: number): AuthenticateError {
  log.info(`Client ${client.id} refused: ${why}.`);
  return refusal(returnCode, returnCode === NOT_AUTHORIZED ? "not authorized" : "bad user name or password");
}

function refusal(returnCode: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}
