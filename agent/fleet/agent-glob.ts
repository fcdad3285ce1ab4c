/**
 * Which agents a behaviour rule applies to: an agent id, or a glob — `*` any run of
 * characters, `?` one character, `[abc]` / `[a-z]` one of a set, `[!abc]` none of it —
 * matched against the whole id. Agent ids are letters, digits, `.`, `_` and `-`, so no other
 * character needs escaping rules of its own.
 */
export function agentMatcher(pattern: string): ((id: string) => boolean) | { problem: string } {
  if (pattern === '') return { problem: 'must not be empty' };
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) return { problem: `${JSON.stringify(pattern)}: "[" at position ${i + 1} is never closed` };
      const set = pattern.slice(i + 1, end);
      if (set === '') return { problem: `${JSON.stringify(pattern)}: "[]" matches nothing` };
      const negated = set.startsWith('!');
      source += `[${negated ? '^' : ''}${(negated ? set.slice(1) : set).replace(/[\\\]^]/g, (c) => `\\${c}`)}]`;
      i = end;
    } else source += ch.replace(/[.+^${}()|\\]/g, (c) => `\\${c}`);
  }
  const re = new RegExp(`^${source}$`);
  return (id) => re.test(id);
}
