/**
 * System users and groups that maintainer scripts create (adduser --system,
 * addgroup --system, useradd -r, groupadd -r) become requests; a later step
 * writes them as a sysusers.d file, and systemd-sysusers creates them at boot.
 */
import type { Invocation, Outcome } from '../shell/interpreter.js';
import { allKnown, UNKNOWN } from '../shell/value.js';
import type { AccountRequest, Handler, ScriptContext } from './context.js';
import { parseArgs } from './options.js';

const OK: Outcome = { status: 0, stdout: '' };
const DONT_KNOW: Outcome = { status: UNKNOWN, stdout: UNKNOWN };

/** adduser/addgroup (Debian's adduser 3.13x): --system users default to /nonexistent and /usr/sbin/nologin. */
function adduser(inv: Invocation, ctx: ScriptContext): Outcome {
  const o = parseArgs(inv.args, {
    long: [
      'system',
      'group',
      'quiet',
      'disabled-password',
      'disabled-login',
      'no-create-home',
      'force-badname',
      'allow-badname',
      'allow-bad-names',
      'allow-all-names',
      'debug',
      'verbose',
      'stdoutmsglevel',
      'add-extra-groups',
    ],
    longValue: [
      'home',
      'shell',
      'gecos',
      'comment',
      'ingroup',
      'uid',
      'gid',
      'firstuid',
      'lastuid',
      'firstgid',
      'lastgid',
      'conf',
    ],
    short: 'q',
  });
  const words = allKnown(o.operands);
  if (words === undefined || o.unknown.length > 0) {
    ctx.skipped(
      inv,
      `not reproduced: ${o.unknown.length > 0 ? `options ${o.unknown.join(' ')}` : 'words bootforge cannot compute'}`,
    );
    return DONT_KNOW;
  }
  // adduser USER GROUP, addgroup USER GROUP: a membership.
  if (words.length === 2 && !o.flags.has('system')) {
    const [user = '', group = ''] = words;
    ctx.memberships.push({ package: ctx.package, user, group });
    ctx.done(inv, `${user} joins group ${group}`);
    return OK;
  }
  if (!o.flags.has('system')) {
    ctx.skipped(inv, 'not reproduced: only system accounts are created by bootforge');
    return DONT_KNOW;
  }
  const groupOnly = inv.name === 'addgroup';
  const [name] = words;
  if (name === undefined || words.length !== 1) {
    ctx.skipped(inv, 'not reproduced: malformed');
    return DONT_KNOW;
  }
  const id = (k: string) => {
    const v = o.flags.get(k);
    return typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined;
  };
  if (groupOnly) {
    return request(inv, ctx, { kind: 'group', name, ...opt('gid', id('gid')) });
  }
  const ingroup = o.flags.get('ingroup');
  const gecos = o.flags.get('gecos') ?? o.flags.get('comment');
  const home = o.flags.get('home');
  const shell = o.flags.get('shell');
  return request(inv, ctx, {
    kind: 'user',
    name,
    ...opt('uid', id('uid')),
    ...opt('gid', id('gid')),
    ...opt('gecos', typeof gecos === 'string' ? gecos : undefined),
    home: typeof home === 'string' ? home : '/nonexistent',
    shell: typeof shell === 'string' ? shell : '/usr/sbin/nologin',
    ...(o.flags.has('group') ? { createGroup: true } : { group: typeof ingroup === 'string' ? ingroup : 'nogroup' }),
  });
}

/** useradd (shadow): -r makes a system account; -U (or the default USERGROUPS_ENAB) its own group. */
function useradd(inv: Invocation, ctx: ScriptContext): Outcome {
  const o = parseArgs(inv.args, {
    short: 'rMmNUlo',
    shortValue: 'dsgcuGKekpbZ',
    long: ['system', 'no-create-home', 'create-home', 'no-user-group', 'user-group', 'no-log-init', 'non-unique'],
    longValue: [
      'home-dir',
      'shell',
      'gid',
      'comment',
      'uid',
      'groups',
      'key',
      'password',
      'base-dir',
      'expiredate',
      'inactive',
    ],
    aliases: {
      r: 'system',
      d: 'home-dir',
      s: 'shell',
      g: 'gid',
      c: 'comment',
      u: 'uid',
      N: 'no-user-group',
      U: 'user-group',
    },
  });
  const words = allKnown(o.operands);
  const [name] = words ?? [];
  if (words === undefined || name === undefined || words.length !== 1) {
    ctx.skipped(inv, 'not reproduced: words bootforge cannot compute');
    return DONT_KNOW;
  }
  if (!o.flags.has('system')) {
    ctx.skipped(inv, 'not reproduced: only system accounts are created by bootforge');
    return DONT_KNOW;
  }
  const text = (k: string) => {
    const v = o.flags.get(k);
    return typeof v === 'string' ? v : undefined;
  };
  const uid = text('uid');
  const group = text('gid');
  return request(inv, ctx, {
    kind: 'user',
    name,
    ...opt('uid', uid !== undefined && /^\d+$/.test(uid) ? Number(uid) : undefined),
    ...opt('gecos', text('comment')),
    home: text('home-dir') ?? '/nonexistent',
    shell: text('shell') ?? '/usr/sbin/nologin',
    ...(group !== undefined ? { group } : o.flags.has('no-user-group') ? { group: 'users' } : { createGroup: true }),
  });
}

function groupadd(inv: Invocation, ctx: ScriptContext): Outcome {
  const o = parseArgs(inv.args, {
    short: 'rfo',
    shortValue: 'gKp',
    long: ['system', 'force', 'non-unique'],
    longValue: ['gid', 'key', 'password'],
    aliases: { r: 'system', g: 'gid', f: 'force' },
  });
  const words = allKnown(o.operands);
  const [name] = words ?? [];
  if (words === undefined || name === undefined || words.length !== 1) {
    ctx.skipped(inv, 'not reproduced: words bootforge cannot compute');
    return DONT_KNOW;
  }
  const gid = o.flags.get('gid');
  return request(inv, ctx, {
    kind: 'group',
    name,
    ...opt('gid', typeof gid === 'string' && /^\d+$/.test(gid) ? Number(gid) : undefined),
  });
}

function request(inv: Invocation, ctx: ScriptContext, r: Omit<AccountRequest, 'package' | 'line'>): Outcome {
  if (ctx.hasAccount(r.kind, r.name)) {
    ctx.done(inv, `${r.kind} ${r.name} exists already`);
    return OK;
  }
  ctx.accounts.push({ ...r, package: ctx.package, line: inv.command.source });
  ctx.done(inv, `system ${r.kind} ${r.name}: created at boot by systemd-sysusers`);
  return OK;
}

/** getent passwd|group NAME: whether the account exists at this point of the install. */
const getent: Handler = (inv, ctx) => {
  const [db, name] = inv.args;
  if ((db !== 'passwd' && db !== 'group') || name === undefined || name === UNKNOWN) return DONT_KNOW;
  const kind = db === 'passwd' ? 'user' : 'group';
  if (!ctx.hasAccount(kind, name)) return { status: 2, stdout: '' };
  const user = ctx.users.get(name);
  const gid = ctx.groups.get(name);
  if (kind === 'user' && user !== undefined) return { status: 0, stdout: UNKNOWN };
  if (kind === 'group' && gid !== undefined) return { status: 0, stdout: `${name}:x:${gid}:\n` };
  return { status: 0, stdout: UNKNOWN };
};

function opt<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

export const ACCOUNT_COMMANDS: Readonly<Record<string, Handler>> = {
  adduser,
  addgroup: adduser,
  useradd,
  groupadd,
  getent,
  usermod: (inv, ctx) => {
    ctx.skipped(inv, 'not reproduced: changes an account');
    return DONT_KNOW;
  },
  groupmod: (inv, ctx) => {
    ctx.skipped(inv, 'not reproduced: changes a group');
    return DONT_KNOW;
  },
  id: () => DONT_KNOW,
};
