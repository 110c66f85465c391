/**
 * The order dpkg configures packages in: dependencies (Pre-Depends, Depends)
 * before their dependents, so base-passwd's /etc/passwd exists before a
 * script adds a user, and base-files' /usr/local before ca-certificates
 * looks at it. Cycles are broken where they close; otherwise the given
 * order is kept.
 */

export interface Orderable {
  readonly name: string;
  readonly control: Readonly<Record<string, string>>;
}

export function configureOrder<T extends Orderable>(packages: readonly T[]): T[] {
  const byName = new Map<string, T>();
  const provided = new Map<string, T>();
  for (const p of packages) byName.set(p.name, p);
  for (const p of packages) {
    for (const v of relation(field(p.control, 'Provides'))) if (!provided.has(v)) provided.set(v, p);
  }
  const out: T[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (p: T) => {
    if (state.has(p.name)) return;
    state.set(p.name, 'visiting');
    for (const group of groups(field(p.control, 'Pre-Depends'), field(p.control, 'Depends'))) {
      const dep = group.map((n) => byName.get(n) ?? provided.get(n)).find((d) => d !== undefined);
      if (dep !== undefined && dep !== p) visit(dep);
    }
    state.set(p.name, 'done');
    out.push(p);
  };
  for (const p of packages) visit(p);
  return out;
}

function field(control: Readonly<Record<string, string>>, name: string): string {
  const lower = name.toLowerCase();
  return Object.entries(control).find(([k]) => k.toLowerCase() === lower)?.[1] ?? '';
}

/** "a (>= 1) | b, c:any" → [["a", "b"], ["c"]]. */
function groups(...fields: string[]): string[][] {
  return fields
    .join(',')
    .split(',')
    .map((g) => relation(g))
    .filter((g) => g.length > 0);
}

function relation(text: string): string[] {
  return text
    .split(/[|,]/)
    .map((alt) => (alt.trim().split(/[\s(:[]/)[0] ?? '').trim())
    .filter((n) => n !== '');
}
