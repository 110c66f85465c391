import { BootforgeError } from '../errors/index.js';
import { displayFile } from '../fsutil/display.js';
import type { ResolvedProfile } from '../profile/resolve.js';
import { checkedHostFile, readHostFile } from '../schema/host-files.js';
import type { ActivateContext } from '../templates/contexts.js';

// Groups with a fixed GID in Debian's base-passwd: a system that lacks them gets the same
// number, so files and habits carry over. Others are allocated from 999 down, as
// systemd-sysusers allocates system groups.
const DEBIAN_STATIC_GIDS: Readonly<Record<string, number>> = {
  adm: 4,
  tty: 5,
  disk: 6,
  lp: 7,
  kmem: 15,
  dialout: 20,
  fax: 21,
  voice: 22,
  cdrom: 24,
  floppy: 25,
  tape: 26,
  sudo: 27,
  audio: 29,
  dip: 30,
  operator: 37,
  src: 40,
  shadow: 42,
  utmp: 43,
  video: 44,
  sasl: 45,
  plugdev: 46,
  staff: 50,
  games: 60,
  users: 100,
};

const FIRST_USER_ID = 1000;
const LAST_SYSTEM_GID = 999;

/** Splits a host name template into literal text and DMI placeholders, in order. */
export function hostnameParts(template: string): ActivateContext['hostnameParts'] {
  const parts: ActivateContext['hostnameParts'][number][] = [];
  let rest = template;
  for (const m of template.matchAll(/\{\{\s*([a-z]+)\s*\}\}/g)) {
    const at = rest.indexOf(m[0]);
    if (at > 0) parts.push({ text: rest.slice(0, at), dmi: false });
    parts.push({ text: '', dmi: dmiField(m[1] ?? '') });
    rest = rest.slice(at + m[0].length);
  }
  if (rest.length > 0) parts.push({ text: rest, dmi: false });
  return parts;
}

function dmiField(placeholder: string): string {
  switch (placeholder) {
    case 'serial':
      return 'product_serial';
    case 'vendor':
      return 'sys_vendor';
    case 'product':
      return 'product_name';
    default:
      throw new BootforgeError('BF_INTERNAL', `host name placeholder {{${placeholder}}} passed validation`);
  }
}

/**
 * The activation's values: users with UIDs (given, else allocated from 1000 in
 * profile order, skipping given ones), each with its own group (GID = UID, as
 * Debian's adduser does), supplementary groups with their GIDs, password hashes
 * (read from hashedPasswordFile at build time), and the host name template.
 */
export function activationContext(profile: ResolvedProfile, epochSeconds: number): ActivateContext {
  const users = profile.data.users;
  const taken = new Set(users.flatMap((u) => (u.uid !== undefined ? [u.uid] : [])));
  let next = FIRST_USER_ID;
  const uids = users.map((u) => {
    if (u.uid !== undefined) return u.uid;
    while (taken.has(next)) next++;
    taken.add(next);
    return next;
  });
  const userNames = new Set(users.map((u) => u.name));
  const groupNames = [
    ...new Set(users.flatMap((u) => [...u.groups, ...(u.sudo ? ['sudo'] : [])]).filter((g) => !userNames.has(g))),
  ].sort();
  const usedGids = new Set([...uids, ...Object.values(DEBIAN_STATIC_GIDS)]);
  let nextGid = LAST_SYSTEM_GID;
  const groups = groupNames.map((name) => {
    let gid = DEBIAN_STATIC_GIDS[name];
    if (gid === undefined) {
      while (usedGids.has(nextGid)) nextGid--;
      gid = nextGid;
      usedGids.add(gid);
    }
    return { name, gid };
  });
  const lastChange = Math.floor(epochSeconds / 86400);
  return {
    groups,
    users: users.map((u, i) => {
      const uid = uids[i] ?? FIRST_USER_ID;
      return {
        name: u.name,
        uid,
        gid: uid,
        gecos: (u.description ?? '').replace(/[:\n]/g, ' '),
        home: `/home/${u.name}`,
        shell: u.shell,
        hash: passwordHash(profile, i),
        lastChange,
        groups: [...new Set([...u.groups, ...(u.sudo ? ['sudo'] : [])])].sort(),
        keys: u.sshAuthorizedKeys.join('\n'),
      };
    }),
    hostnameParts: hostnameParts(profile.data.system.hostname),
  };
}

function passwordHash(profile: ResolvedProfile, index: number): string {
  const user = profile.data.users[index];
  if (user?.hashedPassword !== undefined) return user.hashedPassword;
  if (user?.hashedPasswordFile === undefined) return '';
  const file = checkedHostFile(profile.sources, `users[${index}].hashedPasswordFile`);
  const hash = readHostFile(file).toString('utf8').trim();
  if (hash.includes('\n') || hash.includes(':')) {
    throw new BootforgeError('BF_INVALID_VALUE', `${displayFile(file.path)} must hold one password hash on one line`, {
      loc: file.loc,
      hint: 'mkpasswd -m yescrypt > FILE',
    });
  }
  return hash;
}
