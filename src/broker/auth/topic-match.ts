// MQTT topic filter rules for access control; pure, no I/O.

/** Whether `filter` (may hold + and #) matches the concrete topic name `topic`. */
export function filterMatchesTopic(filter: string, topic: string): boolean {
  const filterLevels = filter.split("/");
  const topicLevels = topic.split("/");
  // [MQTT-4.7.2-1] A filter starting with a wildcard does not match a topic starting with $.
  if (topic.startsWith("$") && (filter.startsWith("+") || filter.startsWith("#"))) return false;
  for (let i = 0; i < filterLevels.length; i++) {
    const level = filterLevels[i]!;
    if (level === "#") return true;
    if (i >= topicLevels.length) return false;
    if (level !== "+" && level !== topicLevels[i]) return false;
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
