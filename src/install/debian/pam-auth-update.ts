/**
 * /etc/pam.d/common-{auth,account,password,session,session-noninteractive}
 * as libpam-runtime's pam-auth-update writes them on a first install: the
 * profiles of /usr/share/pam-configs with "Default: yes", ordered by
 * priority, filled into the templates of /usr/share/pam, with the jump
 * counts ("success=end" → "success=N") pam-auth-update computes. Also its
 * state in /var/lib/pam (seen, and one file per type).
 */

interface Profile {
  readonly id: string;
  readonly fields: Map<string, string>;
  readonly conflicts: Set<string>;
}

const TYPES = ['auth', 'account', 'password', 'session', 'session-noninteractive'] as const;
type PamType = (typeof TYPES)[number];

export interface PamInput {
  /** /usr/share/pam-configs/<id> → text. */
  readonly profiles: ReadonlyMap<string, string>;
  /** /usr/share/pam/common-<type> → text. */
  readonly templates: ReadonlyMap<string, string>;
}

export interface PamOutput {
  /** Path → content: /etc/pam.d/common-* and /var/lib/pam/*. */
  readonly files: Map<string, string>;
  readonly enabled: readonly string[];
}

/** pam-auth-update's parse_pam_profile. */
function parseProfile(id: string, text: string): Profile | undefined {
  const fields = new Map<string, string>();
  const conflicts = new Set<string>();
  let field: string | undefined;
  let disabled = false;
  for (const raw of text.split('\n')) {
    const m = /^(\S+):\s+(.*?)\s*$/.exec(`${raw}\n`);
    if (m?.[1] !== undefined) {
      field = m[1].replace(/-Final$/, '');
      if (field === 'Conflicts') for (const c of (m[2] ?? '').split(', ')) conflicts.add(c);
      else fields.set(field, m[2] ?? '');
      continue;
    }
    if (field === undefined) continue;
    const line = raw.trim();
    let value = fields.get(field) ?? '';
    if (line !== '') value += `\n${line}`;
    if (/pam_tally/.test(value)) disabled = true;
    fields.set(field, value.replace(/^[\n\s]+/, ''));
  }
  if (disabled) return undefined;
  if (!fields.has('Session-Interactive-Only')) {
    for (const [from, to] of [
      ['Session-Type', 'Session-noninteractive-Type'],
      ['Session', 'Session-noninteractive'],
      ['Session-Initial', 'Session-noninteractive-Initial'],
    ] as const) {
      const v = fields.get(from);
      if (v !== undefined) fields.set(to, v);
    }
  }
  return { id, fields, conflicts };
}

export function pamAuthUpdate(input: PamInput): PamOutput {
  const profiles = new Map<string, Profile>();
  for (const [id, text] of input.profiles) {
    if (id.endsWith('~') || /^#.+#$/.test(id)) continue;
    const p = parseProfile(id, text);
    if (p !== undefined) profiles.set(id, p);
  }
  const priority = (id: string) => Number(profiles.get(id)?.fields.get('Priority') ?? 0);
  const byPriority = (a: string, b: string) => priority(b) - priority(a) || (b < a ? -1 : b > a ? 1 : 0);
  const sorted = [...profiles.keys()].sort(byPriority);
  let enabled = sorted.filter((id) => profiles.get(id)?.fields.get('Default') === 'yes');
  // Conflicting profiles: the later one of a pair goes, as pam-auth-update's loop does.
  for (const id of [...enabled]) {
    enabled = enabled.filter((other) => !profiles.get(id)?.conflicts.has(other) || other === id);
  }
  const files = new Map<string, string>();
  for (const type of TYPES) {
    const template = input.templates.get(type);
    if (template === undefined) continue;
    files.set(`/etc/pam.d/common-${type}`, fill(template, type, enabled, profiles));
    files.set(`/var/lib/pam/${type}`, saved(type, enabled, profiles));
  }
  files.set('/var/lib/pam/seen', sorted.map((s) => `${s}\n`).join(''));
  return { files, enabled };
}

function linesFor(p: Profile, ucType: string, position: number): string | undefined {
  const initial = p.fields.get(`${ucType}-Initial`);
  if (position === 0 && initial) return initial;
  return p.fields.get(ucType);
}

function ucfirst(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** create_from_template: the template with its Primary and Additional blocks filled. */
function fill(template: string, type: PamType, enabled: readonly string[], profiles: Map<string, Profile>): string {
  const ucType = ucfirst(type);
  const prefix = type.replace(/-noninteractive$/, '');
  const out: string[] = [];
  let state = 0;
  for (const line of template.split(/(?<=\n)/)) {
    if (state === 1) {
      if (line.startsWith("# here's the fallback if no module succeeds")) {
        out.push(line);
        state++;
      }
      continue;
    }
    if (state === 3) {
      if (line.startsWith('# end of pam-auth-update config')) {
        out.push(line);
        state++;
      }
      continue;
    }
    out.push(line);
    const block =
      state === 0 && line.startsWith('# here are the per-package modules (the "Primary" block)')
        ? 'Primary'
        : state === 2 && line.startsWith('# and here are more per-package modules (the "Additional" block)')
          ? 'Additional'
          : undefined;
    if (block === undefined) continue;
    const mods = enabled.flatMap((id) => {
      const p = profiles.get(id);
      return p !== undefined && p.fields.get(`${ucType}-Type`) === block ? [p] : [];
    });
    let count = 0;
    mods.forEach((p, i) => {
      count += (linesFor(p, ucType, i) ?? '').split(/\n+/).filter((l) => l !== '').length;
    });
    if (block === 'Additional') count--;
    if (block === 'Primary' && count === 0) out.push(`${prefix}\t[default=1]\t\t\tpam_permit.so\n`);
    mods.forEach((p, i) => {
      for (const l of (linesFor(p, ucType, i) ?? '').split('\n')) {
        out.push(`${prefix}\t${mergeOneLine(l, count)}`);
        count--;
      }
    });
    state++;
  }
  return out.join('');
}

/** merge_one_line without local changes: "end" → the jump count, options kept. */
function mergeOneLine(line: string, count: number): string {
  const m = /^((\[[^\]]+\]|\w+)\s+\S+)\s*(.*)/.exec(line);
  if (m === null) return `${line}\n`;
  const modline = (m[1] ?? '').replace(/end/g, String(count));
  const opts = (m[3] ?? '').split(/\s+/).filter((o) => o !== '');
  return `${modline} ${opts.join(' ')}\n`;
}

/** The state file /var/lib/pam/<type>: Primary modules, then Additional ones. */
function saved(type: PamType, enabled: readonly string[], profiles: Map<string, Profile>): string {
  const ucType = ucfirst(type);
  let out = '';
  let i = 0;
  for (const block of ['Primary', 'Additional']) {
    if (block === 'Additional') {
      if (i === 0) out += 'Module: null\n[default=1]\t\t\tpam_permit.so\n';
      i = 0;
    }
    for (const id of enabled) {
      const p = profiles.get(id);
      if (p?.fields.get(`${ucType}-Type`) !== block) continue;
      const lines = linesFor(p, ucType, i++);
      if (lines) out += `Module: ${id}\n${lines}\n`;
    }
  }
  return out;
}
