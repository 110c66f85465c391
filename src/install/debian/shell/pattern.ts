/** Shell glob patterns (case labels, ${x#pattern}) as regular expressions. */

/** The pattern as a regular expression source, without anchors: * ? [...] and \x, everything else literal. */
export function patternSource(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? '';
    if (c === '\\' && i + 1 < pattern.length) {
      out += escapeRegExp(pattern[++i] ?? '');
    } else if (c === '*') out += '[\\s\\S]*';
    else if (c === '?') out += '[\\s\\S]';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) {
        out += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, close);
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      out += `[${body.replace(/\\/g, '\\\\')}]`;
      i = close;
    } else out += escapeRegExp(c);
  }
  return out;
}

export function matchesPattern(text: string, pattern: string): boolean {
  return new RegExp(`^${patternSource(pattern)}$`).test(text);
}

/** ${v#p} / ${v##p} / ${v%p} / ${v%%p}. */
export function removeAffix(text: string, pattern: string, op: '#' | '##' | '%' | '%%'): string {
  const re = patternSource(pattern);
  if (op === '#' || op === '##') {
    const lengths = [...Array(text.length + 1).keys()];
    const order = op === '#' ? lengths : lengths.reverse();
    for (const n of order) if (new RegExp(`^${re}$`).test(text.slice(0, n))) return text.slice(n);
    return text;
  }
  const starts = [...Array(text.length + 1).keys()];
  const order = op === '%' ? starts.reverse() : starts;
  for (const n of order) if (new RegExp(`^${re}$`).test(text.slice(n))) return text.slice(0, n);
  return text;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
