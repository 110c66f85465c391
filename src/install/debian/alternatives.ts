/**
 * update-alternatives as the maintainer scripts' --install calls leave it:
 * per link group the choices whose file exists, the best (highest priority,
 * first installed on a tie) selected in auto mode, the links
 * LINK → /etc/alternatives/NAME → PATH (and the same for each slave whose
 * file exists), and the admin file /var/lib/dpkg/alternatives/NAME in
 * update-alternatives' format.
 */
import type { AlternativeRequest } from './scripts/context.js';

export const ALT_DIR = '/etc/alternatives';
export const ADMIN_DIR = '/var/lib/dpkg/alternatives';

export interface LinkGroup {
  readonly name: string;
  readonly link: string;
  /** Slave names and links, in the order first registered. */
  readonly slaves: readonly { readonly name: string; readonly link: string }[];
  readonly choices: readonly {
    readonly path: string;
    readonly priority: number;
    readonly package: string;
    /** Slave name → path. */
    readonly slaves: ReadonlyMap<string, string>;
  }[];
  readonly best: string;
}

export interface AlternativesResult {
  readonly groups: readonly LinkGroup[];
  readonly links: { path: string; target: string }[];
  readonly adminFiles: Map<string, string>;
  /** Problems that kept a link or a choice out, for the report. */
  readonly problems: { package: string; message: string }[];
}

export interface FileChecks {
  /** Whether a path names an existing file (symlinks followed). */
  exists(path: string): boolean;
  /** Whether something other than a symlink is at a path (update-alternatives does not replace it). */
  isRealFile(path: string): boolean;
}

export function resolveAlternatives(requests: readonly AlternativeRequest[], fs: FileChecks): AlternativesResult {
  const problems: { package: string; message: string }[] = [];
  const groups = new Map<
    string,
    { link: string; slaves: { name: string; link: string }[]; choices: LinkGroup['choices'][number][] }
  >();
  for (const r of requests) {
    if (!fs.exists(r.path)) {
      problems.push({ package: r.package, message: `alternative ${r.name}: ${r.path} does not exist, not registered` });
      continue;
    }
    let g = groups.get(r.name);
    if (g === undefined) {
      g = { link: r.link, slaves: [], choices: [] };
      groups.set(r.name, g);
    }
    for (const s of r.slaves)
      if (!g.slaves.some((x) => x.name === s.name)) g.slaves.push({ name: s.name, link: s.link });
    const choice = {
      path: r.path,
      priority: r.priority,
      package: r.package,
      slaves: new Map(r.slaves.map((s) => [s.name, s.path])),
    };
    const at = g.choices.findIndex((c) => c.path === r.path);
    if (at >= 0) g.choices[at] = choice;
    else g.choices.push(choice);
  }

  const out: LinkGroup[] = [];
  const links: { path: string; target: string }[] = [];
  const adminFiles = new Map<string, string>();
  for (const [name, g] of groups) {
    const best = g.choices.reduce((a, b) => (b.priority > a.priority ? b : a));
    out.push({ name, link: g.link, slaves: g.slaves, choices: g.choices, best: best.path });
    const linkTo = (link: string, slaveName: string, target: string) => {
      if (fs.isRealFile(link)) {
        problems.push({
          package: best.package,
          message: `alternative ${slaveName}: ${link} is a file, not replaced by a link`,
        });
        return;
      }
      links.push({ path: link, target: `${ALT_DIR}/${slaveName}` }, { path: `${ALT_DIR}/${slaveName}`, target });
    };
    linkTo(g.link, name, best.path);
    for (const s of g.slaves) {
      const target = best.slaves.get(s.name);
      if (target !== undefined && fs.exists(target)) linkTo(s.link, s.name, target);
    }
    adminFiles.set(`${ADMIN_DIR}/${name}`, adminFile(g.link, g.slaves, g.choices));
  }
  return { groups: out, links, adminFiles, problems };
}

/**
 * The admin file: mode, master link, slave name/link pairs, blank, then each
 * choice with its slave paths, blank. update-alternatives sorts slaves by
 * name and choices by path (strcmp) before writing.
 */
function adminFile(
  link: string,
  unsortedSlaves: readonly { name: string; link: string }[],
  unsortedChoices: readonly LinkGroup['choices'][number][],
): string {
  const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
  const slaves = [...unsortedSlaves].sort((a, b) => byBytes(a.name, b.name));
  const choices = [...unsortedChoices].sort((a, b) => byBytes(a.path, b.path));
  const lines = ['auto', link];
  for (const s of slaves) lines.push(s.name, s.link);
  lines.push('');
  for (const c of choices) {
    lines.push(c.path, String(c.priority));
    for (const s of slaves) lines.push(c.slaves.get(s.name) ?? '');
  }
  lines.push('');
  return `${lines.join('\n')}\n`;
}
