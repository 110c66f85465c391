/**
 * deb822 stanzas (Release, Packages, control files): "Field: value" lines,
 * continuation lines start with a space, stanzas are separated by blank lines.
 * Field names are case-insensitive; they are returned as written in the first stanza.
 */
export function parseStanzas(text: string): Map<string, string>[] {
  const out: Map<string, string>[] = [];
  let current = new Map<string, string>();
  let last: string | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (current.size > 0) out.push(current);
      current = new Map();
      last = undefined;
    } else if ((line.startsWith(' ') || line.startsWith('\t')) && last !== undefined) {
      current.set(last, `${current.get(last) ?? ''}\n${line.slice(1)}`);
    } else if (!line.startsWith('#')) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      last = line.slice(0, colon);
      current.set(last, line.slice(colon + 1).trim());
    }
  }
  if (current.size > 0) out.push(current);
  return out;
}

/** Case-insensitive field lookup. */
export function field(stanza: ReadonlyMap<string, string>, name: string): string | undefined {
  const direct = stanza.get(name);
  if (direct !== undefined) return direct;
  const lower = name.toLowerCase();
  for (const [k, v] of stanza) if (k.toLowerCase() === lower) return v;
  return undefined;
}
