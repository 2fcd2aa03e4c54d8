// aedes's authenticate / authorize hooks for a password file and an ACL.
import type { AedesOptions, AuthenticateError, Client } from "aedes";
import { log } from "../../log";
import { PASSWORD_HASH } from "./password-file";
import { mayAccessTopic, maySubscribe, rulesFor, type Acl, type ClientRules } from "./acl";

/** Read at every check, so a reload (src/broker/setup/reload.ts) can swap `users` and `acl` in place. */
export interface AccessControlOptions {
  /** user -> hash from --password-file; without it every user name is taken on trust. */
  users?: Map<string, string>;
  /** With a password file: may clients that send no user name connect? */
  allowAnonymous: boolean;
  /** From --acl-file; without it every client may publish and subscribe to anything. */
  acl?: Acl;
}

type Hooks = Pick<AedesOptions, "authenticate" | "authorizePublish" | "authorizeSubscribe" | "authorizeForward">;

// CONNACK return codes (3.1.1); aedes maps them to 0x86 / 0x87 for MQTT 5.
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

/**
 * 3.1.1 PUBLISHes the ACL refused, by their `properties` object: aedes copies a packet before routing
 * it but keeps that object, so the mark reaches authorizeForward (a 3.1.1 packet has none of its own).
 */
const denied = new WeakSet<object>();

export function accessControlHooks(options: AccessControlOptions): Hooks {
  const usernames = new WeakMap<Client, string | undefined>();
  const hooks: Hooks = {};

  if (options.users || options.acl) {
    hooks.authenticate = (client, username, password, done) => {
      if (!options.users) {
        usernames.set(client, username ?? undefined);
        return done(null, true);
      }
      if (username === undefined || username === null) {
        if (options.allowAnonymous) return done(null, true);
        log.info(`Client ${client.id} refused: no user name (not authorized).`);
        return done(refusal(NOT_AUTHORIZED, "not authorized"), false);
      }
      checkPassword(options.users, username, password).then(
        (ok) => {
          if (ok) {
            usernames.set(client, username);
            return done(null, true);
          }
          // The password is never logged, whatever happens.
          log.info(`Client ${client.id} refused: bad user name or password (user "${username}").`);
          done(refusal(BAD_USERNAME_OR_PASSWORD, "bad user name or password"), false);
        },
        (error: Error) => done(refusal(NOT_AUTHORIZED, error.message), false),
      );
    };
  }

  if (!options.acl) return hooks;
  // Keyed by the ACL they came from: after a reload swaps `options.acl` (SIGHUP), a client's next
  // publish, subscribe or delivery is checked against the new rules.
  const rulesByClient = new WeakMap<Client, { acl: Acl; rules: ClientRules }>();
  const rules = (client: Client) => {
    const acl = options.acl!;
    let found = rulesByClient.get(client);
    if (found?.acl !== acl) rulesByClient.set(client, (found = { acl, rules: rulesFor(acl, usernames.get(client), client.id) }));
    return found.rules;
  };

  hooks.authorizePublish = (client, packet, callback) => {
    if (!client) return callback(null); // the broker's own messages ($SYS)
    if (!packet.topic.startsWith("$SYS") && mayAccessTopic(rules(client), packet.topic, "write")) return callback(null);
    log.info(`Client ${client.id} may not publish to ${packet.topic}; dropped.`);
    if (client.version === 5) return callback(new Error("not authorized")); // aedes answers 0x87
    // 3.1.1 has no way to say no to a PUBLISH (closing would make the client resend it forever):
    // acknowledge it, keep it out of the retained store, and deliver it to nobody.
    const mark = {};
    denied.add(mark);
    packet.properties = mark;
    packet.retain = false;
    callback(null);
  };

  hooks.authorizeSubscribe = (client, subscription, callback) => {
    if (maySubscribe(rules(client), subscription.topic)) return callback(null, subscription);
    log.info(`Client ${client.id} may not subscribe to ${subscription.topic}; refused.`);
    callback(null, null); // SUBACK 0x80 (3.1.1) / 0x87 (5)
  };

  hooks.authorizeForward = (client, packet) => {
    if (packet.properties && denied.has(packet.properties)) return null;
    return mayAccessTopic(rules(client), packet.topic, "read") ? packet : null;
  };
  return hooks;
}

function refusal(returnCode: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

let dummyHash: string | undefined;

/** Verifies against the user's hash; an unknown user costs the same time, so it cannot be told apart. */
async function checkPassword(users: Map<string, string>, username: string, password: Readonly<Buffer> | undefined): Promise<boolean> {
  const hash = users.get(username);
  const candidate = password ? Buffer.from(password).toString("utf8") : "";
  if (hash === undefined) {
    dummyHash ??= await Bun.password.hash("not a password", PASSWORD_HASH);
    await Bun.password.verify(candidate, dummyHash);
    return false;
  }
  if (!password) return false;
  return Bun.password.verify(candidate, hash);
}
