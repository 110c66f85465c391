/**
 * Accounts of a Debian system. base-passwd's postinst copies passwd.master and
 * group.master to /etc/passwd and /etc/group; passwd's `shadowconfig on` moves
 * the password fields to /etc/shadow and /etc/gshadow (root:shadow, 0640).
 * System users and groups that other scripts create get no fixed id in Debian,
 * so they become a sysusers.d file and systemd-sysusers creates them at boot,
 * with ids from the system range, unless a package's own sysusers.d file
 * already declares them.
 */
import type { AccountRequest, MembershipRequest } from './scripts/context.js';

export interface PasswdEntry {
  readonly name: string;
  readonly password: string;
  readonly uid: number;
  readonly gid: number;
  readonly gecos: string;
  readonly home: string;
  readonly shell: string;
}

export interface GroupEntry {
  readonly name: string;
  readonly password: string;
  readonly gid: number;
  readonly members: readonly string[];
}

export const SHADOW_GID = 42;
export const SYSUSERS_FILE = '/usr/lib/sysusers.d/bootforge-maintscripts.conf';

export function parsePasswd(text: string): PasswdEntry[] {
  return lines(text).flatMap((l) => {
    const [name = '', password = '', uid = '', gid = '', gecos = '', home = '', shell = ''] = l.split(':');
    return /^\d+$/.test(uid) && /^\d+$/.test(gid)
      ? [{ name, password, uid: Number(uid), gid: Number(gid), gecos, home, shell }]
      : [];
  });
}

export function parseGroup(text: string): GroupEntry[] {
  return lines(text).flatMap((l) => {
    const [name = '', password = '', gid = '', members = ''] = l.split(':');
    return /^\d+$/.test(gid)
      ? [{ name, password, gid: Number(gid), members: members === '' ? [] : members.split(',') }]
      : [];
  });
}

/** /etc/passwd, /etc/group, /etc/shadow and /etc/gshadow after `shadowconfig on` (pwconv, grpconv). */
export function shadowFiles(
  passwd: readonly PasswdEntry[],
  group: readonly GroupEntry[],
  epochSeconds: number,
): { passwd: string; group: string; shadow: string; gshadow: string } {
  const day = Math.floor(epochSeconds / 86400);
  const locked = (p: string) => (p === '' || p === 'x' ? '*' : p);
  return {
    passwd: passwd.map((p) => `${p.name}:x:${p.uid}:${p.gid}:${p.gecos}:${p.home}:${p.shell}\n`).join(''),
    group: group.map((g) => `${g.name}:x:${g.gid}:${g.members.join(',')}\n`).join(''),
    shadow: passwd.map((p) => `${p.name}:${locked(p.password)}:${day}:0:99999:7:::\n`).join(''),
    gshadow: group.map((g) => `${g.name}:${locked(g.password)}::${g.members.join(',')}\n`).join(''),
  };
}

/** Users ("u") and groups ("g", and the group of each "u") that sysusers.d files declare. */
export function sysusersDeclared(text: string): { users: Set<string>; groups: Set<string> } {
  const users = new Set<string>();
  const groups = new Set<string>();
  for (const l of lines(text)) {
    const [type, name] = l.trim().split(/\s+/);
    if (name === undefined) continue;
    if (type === 'u' || type === 'u!') {
      users.add(name);
      groups.add(name);
    } else if (type === 'g') groups.add(name);
  }
  return { users, groups };
}

export interface SysusersResult {
  /** The sysusers.d file, or undefined when there is nothing to declare. */
  readonly text: string | undefined;
  /** Requests a package's own sysusers.d file (or base-passwd) covers already, by name. */
  readonly covered: readonly string[];
}

/** The sysusers.d lines for the accounts maintainer scripts create (adduser --system and friends). */
export function sysusersFor(
  requests: readonly AccountRequest[],
  memberships: readonly MembershipRequest[],
  declared: { readonly users: ReadonlySet<string>; readonly groups: ReadonlySet<string> },
): SysusersResult {
  const out: string[] = [];
  const covered: string[] = [];
  const seen = new Set<string>();
  for (const r of requests) {
    const key = `${r.kind}:${r.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (r.kind === 'group') {
      if (declared.groups.has(r.name)) {
        covered.push(r.name);
        continue;
      }
      out.push(`g ${r.name} ${r.gid ?? '-'}`);
      continue;
    }
    if (declared.users.has(r.name)) {
      covered.push(r.name);
      continue;
    }
    const uid = r.uid === undefined ? '-' : String(r.uid);
    const id = r.createGroup === true ? uid : `${uid}:${r.gid ?? r.group ?? 'nogroup'}`;
    out.push(`u ${r.name} ${id} ${quote(r.gecos ?? '')} ${r.home ?? '/nonexistent'} ${r.shell ?? '/usr/sbin/nologin'}`);
  }
  for (const m of memberships) out.push(`m ${m.user} ${m.group}`);
  if (out.length === 0) return { text: undefined, covered };
  const header = [
    '# System users and groups that maintainer scripts of the installed packages create',
    '# (adduser --system, addgroup --system, useradd -r, groupadd -r). Written by bootforge,',
    '# which runs no maintainer scripts: systemd-sysusers creates them at boot.',
  ];
  return { text: `${[...header, ...out].join('\n')}\n`, covered };
}

function quote(gecos: string): string {
  if (gecos === '') return '-';
  return /[\s"]/.test(gecos) ? `"${gecos.replace(/["\\]/g, '\\$&')}"` : gecos;
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
}
