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
  if (topic.startsWith("$") && (filter.startsWith("+") || filter.startsWith("#"))) return false;
  const filterLevels = filter.split("/");
  const topicLevels = topic.split("/");
  for (let index = 0; index < filterLevels.length; index++) {
    const level = filterLevels[index]!;
    if (level === "#") return true;
    if (index >= topicLevels.length) return false;
    if (level !== "+" && level !== topicLevels[index]) return false;
  }
  return filterLevels.length === topicLevels.length;
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
