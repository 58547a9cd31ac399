/**
 * Whether a topic matches a subscription filter, level by level: `+` is one level, `#` the
 * rest (including none). One client serves several nodes, so incoming messages are handed to the
 * nodes whose filters they match.
 */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i]!;
    // [MQTT-4.7.1-2] '#' matches the parent level and any number of child levels.
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}
