// mosquitto-style ACL files: parsing and the access decision; pure, no I/O.
import { filterCovers, filterProblem, topicMatches } from "../../core/topic-filter";

export type Access = "read" | "write" | "readwrite" | "deny";

interface Rule {
  access: Access;
  filter: string;
  /** `pattern` rules: %u and %c are replaced per client. */
  pattern: boolean;
}

/** The rules of one ACL file. Rules before any `user` line are for anonymous clients. */
export interface Acl {
  anonymous: Rule[];
  users: Map<string, Rule[]>;
  patterns: Rule[];
}

export class AclFileError extends Error {}

const ACCESS = new Set<Access>(["read", "write", "readwrite", "deny"]);

/**
 * Parses the mosquitto ACL format:
 *   user NAME                        following `topic` lines apply to NAME
 *   topic [read|write|readwrite|deny] FILTER    (readwrite when left out)
 *   pattern [read|write|readwrite|deny] FILTER  for every client, %u = user name, %c = client id
 * Blank lines and lines starting with # are ignored. Throws AclFileError naming the line.
 */
export function parseAcl(text: string): Acl {
  const acl: Acl = { anonymous: [], users: new Map(), patterns: [] };
  let current = acl.anonymous;
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const fail = (why: string) => new AclFileError(`line ${index + 1}: ${why}: "${line}"`);
    const [keyword, ...rest] = line.split(/\s+/);
    if (keyword === "user") {
      if (rest.length === 0) throw fail("user needs a name");
      const name = line.slice("user".length).trim();
      current = acl.users.get(name) ?? [];
      acl.users.set(name, current);
      continue;
    }
    if (keyword !== "topic" && keyword !== "pattern") throw fail(`unknown keyword "${keyword}" (use user, topic or pattern)`);
    let access: Access = "readwrite";
    let filter = line.slice(keyword.length).trim();
    if (rest.length > 1 && ACCESS.has(rest[0] as Access)) {
      access = rest[0] as Access;
      filter = filter.slice(access.length).trim();
    } else if (rest.length > 1) {
      throw fail(`unknown access "${rest[0]}" (use read, write, readwrite or deny)`);
    }
    if (filter === "") throw fail(`${keyword} needs a topic filter`);
    if (filterProblem(filter) !== undefined) throw fail(`invalid topic filter "${filter}"`);
    const rule = { access, filter, pattern: keyword === "pattern" };
    (rule.pattern ? acl.patterns : current).push(rule);
  }
  return acl;
}

/** The rules that apply to one client, %u and %c filled in; computed once per connection. */
export interface ClientRules {
  grants: { filter: string; read: boolean; write: boolean }[];
  denies: string[];
}

export function rulesFor(acl: Acl, username: string | undefined, clientId: string): ClientRules {
  const own = username === undefined ? acl.anonymous : (acl.users.get(username) ?? []);
  const rules: ClientRules = { grants: [], denies: [] };
  const add = (access: Access, filter: string) => {
    if (access === "deny") rules.denies.push(filter);
    else rules.grants.push({ filter, read: access !== "write", write: access !== "read" });
  };
  for (const rule of own) add(rule.access, rule.filter);
  for (const rule of acl.patterns) {
    const filter = substitutePattern(rule.filter, username, clientId);
    if (filter !== undefined) add(rule.access, filter);
  }
  return rules;
}

/** A value that would widen the filter it is put into (wildcards, levels) or be substituted again. */
const UNSAFE_IN_PATTERN = /[+#/%\0]/;

/**
 * A pattern rule's filter with %u and %c replaced in one pass (as mosquitto does), so a value is never
 * read as a token again; undefined when a value it needs is missing or unsafe: the rule then gives nothing.
 */
export function substitutePattern(filter: string, username: string | undefined, clientId: string): string | undefined {
  let usable = true;
  const result = filter.replace(/%[uc]/g, (token) => {
    const value = token === "%u" ? username : clientId;
    if (value === undefined || value === "" || UNSAFE_IN_PATTERN.test(value)) usable = false;
    return value ?? "";
  });
  return usable ? result : undefined;
}

/** May the client publish to (write) or receive from (read) this topic name? */
export function mayAccessTopic(rules: ClientRules, topic: string, access: "read" | "write"): boolean {
  // Asked for every PUBLISH and every delivery: plain loops, no closure made per call.
  for (const filter of rules.denies) if (topicMatches(filter, topic)) return false;
  for (const grant of rules.grants) if (grant[access] && topicMatches(grant.filter, topic)) return true;
  return false;
}

/**
 * May the client subscribe to this filter? Only when one read grant covers all of it and no deny
 * covers all of it; topics inside it that a deny names are then withheld message by message.
 */
export function maySubscribe(rules: ClientRules, filter: string): boolean {
  const plain = stripSharePrefix(filter);
  if (rules.denies.some((deny) => filterCovers(deny, plain))) return false;
  return rules.grants.some((grant) => grant.read && filterCovers(grant.filter, plain));
}

/** `$share/group/filter` subscribes to `filter`; access is decided on that. */
function stripSharePrefix(filter: string): string {
  if (!filter.startsWith("$share/")) return filter;
  const slash = filter.indexOf("/", "$share/".length);
  return slash < 0 ? filter : filter.slice(slash + 1);
}
