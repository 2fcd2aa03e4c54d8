/** Topic filter rules (MQTT 3.1.1 §4.7, MQTT 5 §4.7). No I/O here. */

/** Why a filter is not valid, or undefined when it is: # only alone in the last level, + alone in a level. */
export function filterProblem(filter: string): string | undefined {
  if (filter.length === 0) return "a topic filter must not be empty";
  const levels = filter.split("/");
  for (let index = 0; index < levels.length; index++) {
    const level = levels[index]!;
    if (level.includes("#") && (level !== "#" || index !== levels.length - 1)) return "# must be a whole level and the last one";
    if (level.includes("+") && level !== "+") return "+ must be a whole level";
  }
  return undefined;
}

/** Whether a topic matches a filter: + one level, # this level and all below; $-topics need a literal first level [MQTT-4.7.2-1]. */
export function topicMatches(filter: string, topic: string): boolean {
  // Level by level on the strings themselves: the ACL asks this per rule for every message, so no split.
  const first = filter.charCodeAt(0);
  if (topic.charCodeAt(0) === DOLLAR && (first === PLUS || first === HASH)) return false;
  let filterAt = 0;
  let topicAt = 0;
  for (;;) {
    const filterEnd = levelEnd(filter, filterAt);
    const wildcard = filterEnd - filterAt === 1 ? filter.charCodeAt(filterAt) : 0;
    if (wildcard === HASH) return true;
    if (topicAt > topic.length) return false; // the topic has fewer levels
    const topicEnd = levelEnd(topic, topicAt);
    if (wildcard !== PLUS && !sameLevel(filter, filterAt, filterEnd, topic, topicAt, topicEnd)) return false;
    if (filterEnd === filter.length) return topicEnd === topic.length;
    filterAt = filterEnd + 1;
    topicAt = topicEnd + 1;
  }
}

const DOLLAR = 36;
const PLUS = 43;
const HASH = 35;

function levelEnd(name: string, from: number): number {
  const slash = name.indexOf("/", from);
  return slash < 0 ? name.length : slash;
}

function sameLevel(a: string, aStart: number, aEnd: number, b: string, bStart: number, bEnd: number): boolean {
  if (aEnd - aStart !== bEnd - bStart) return false;
  for (let i = 0; i < aEnd - aStart; i++) if (a.charCodeAt(aStart + i) !== b.charCodeAt(bStart + i)) return false;
  return true;
}

/**
 * Whether every topic that `inner` matches is also matched by `outer`, so a subscription to `inner`
 * can only ever receive what `outer` allows: `a/#` covers `a/+/b`; `a/+` does not cover `a/#`.
 */
export function filterCovers(outer: string, inner: string): boolean {
  const outerLevels = outer.split("/");
  const innerLevels = inner.split("/");
  if (inner.startsWith("$") && (outer.startsWith("+") || outer.startsWith("#"))) return false;
  for (let i = 0; i < outerLevels.length; i++) {
    const level = outerLevels[i]!;
    if (level === "#") return true;
    if (i >= innerLevels.length) return false;
    const innerLevel = innerLevels[i]!;
    if (innerLevel === "#") return false;
    if (level === "+") continue;
    if (innerLevel !== level) return false;
  }
  return outerLevels.length === innerLevels.length;
}
