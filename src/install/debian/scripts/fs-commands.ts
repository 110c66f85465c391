/**
 * File commands of maintainer scripts (cp, mv, ln, mkdir, rm, touch, chmod,
 * chown, install, readlink, ...), applied to the overlay. A command on a path
 * bootforge cannot follow, or on an uncertain path, is reported, not applied.
 */
import { baseName, parentOf, type Content, type OverlayNode } from '../overlay.js';
import type { Invocation, Outcome } from '../shell/interpreter.js';
import { allKnown, isKnown, UNKNOWN, type Value } from '../shell/value.js';
import { commandText, type Handler, type ScriptContext } from './context.js';
import { parseArgs } from './options.js';

const OK: Outcome = { status: 0, stdout: '' };
export const TMPFILES_CONF = '/usr/lib/tmpfiles.d/bootforge-maintscripts.conf';
const TMPFILES_NOTE = TMPFILES_CONF;

/** /etc and /var stay writable on the installed system; /usr does not. */
export function writableAtBoot(path: string): boolean {
  return path.startsWith('/etc/') || path.startsWith('/var/');
}
const FAIL: Outcome = { status: 1, stdout: '' };
const DONT_KNOW: Outcome = { status: UNKNOWN, stdout: UNKNOWN };

/** The canonical path an argument names, or undefined when it cannot be told. */
function where(ctx: ScriptContext, inv: Invocation, path: Value, follow: boolean) {
  if (path === UNKNOWN || (!path.startsWith('/') && inv.cwd === UNKNOWN)) return undefined;
  return ctx.overlay.resolve(path, follow, inv.cwd === UNKNOWN ? '/' : inv.cwd);
}

/** Applies an effect only on a certain path with known arguments; otherwise reports it. */
function guarded(inv: Invocation, ctx: ScriptContext, words: readonly Value[], apply: () => Outcome): Outcome {
  const claim = words
    .map((w) => (typeof w === 'string' && w.startsWith('/') ? ctx.claimOf(w) : undefined))
    .find((c) => c);
  if (claim !== undefined) {
    ctx.done(inv, claim);
    return OK;
  }
  if (!inv.certain) {
    ctx.skipped(inv, 'not applied: runs only under a condition bootforge cannot evaluate');
    return DONT_KNOW;
  }
  if (allKnown(words) === undefined) {
    ctx.skipped(inv, `not applied: ${commandText(inv)} has words bootforge cannot compute`);
    return DONT_KNOW;
  }
  return apply();
}

const cp: Handler = (inv, ctx) => {
  const o = parseArgs(inv.args, {
    short: 'pafrRdLPZvnTuHx',
    long: ['preserve', 'archive', 'force', 'recursive', 'no-dereference', 'dereference', 'remove-destination'],
    longValue: ['preserve', 'context'],
    aliases: { a: 'archive', p: 'preserve', d: 'no-dereference', P: 'no-dereference', r: 'recursive', R: 'recursive' },
  });
  return guarded(inv, ctx, o.operands, () => {
    const [source, dest, ...more] = o.operands as string[];
    if (source === undefined || dest === undefined || more.length > 0) {
      ctx.skipped(inv, 'not applied: bootforge copies one file at a time');
      return DONT_KNOW;
    }
    const noDeref = o.flags.has('archive') || o.flags.has('no-dereference');
    const preserve = o.flags.has('archive') || o.flags.has('preserve');
    const from = where(ctx, inv, source, !noDeref);
    if (from?.node === undefined) return FAIL;
    if (from.node.type === 'dir') {
      ctx.skipped(inv, 'not applied: copies a directory');
      return DONT_KNOW;
    }
    const target = destination(ctx, inv, dest, baseName(from.path));
    if (target === undefined) return FAIL;
    const existing = ctx.overlay.node(target);
    if (from.node.type === 'symlink') {
      ctx.overlay.set(target, from.node);
    } else if (from.node.type === 'file') {
      const meta =
        preserve || existing?.type !== 'file'
          ? {
              mode: preserve ? from.node.mode : from.node.mode & ~inv.umask,
              uid: preserve ? from.node.uid : 0,
              gid: preserve ? from.node.gid : 0,
            }
          : { mode: existing.mode, uid: existing.uid, gid: existing.gid };
      ctx.overlay.set(target, { type: 'file', ...meta, content: from.node.content });
    } else return FAIL;
    ctx.done(inv, `copied ${from.path} to ${target}`);
    return OK;
  });
};

/** Where a file named `name` lands for a destination argument: inside it when it is a directory. */
function destination(ctx: ScriptContext, inv: Invocation, dest: string, name: string): string | undefined {
  const d = where(ctx, inv, dest, true);
  if (d === undefined) return undefined;
  if (d.node?.type === 'dir') return `${d.path === '/' ? '' : d.path}/${name}`;
  const parent = ctx.overlay.node(parentOf(d.path));
  return parent?.type === 'dir' ? d.path : undefined;
}

const mv: Handler = (inv, ctx) => {
  const o = parseArgs(inv.args, { short: 'fivnTuZ', long: ['force', 'no-clobber'] });
  return guarded(inv, ctx, o.operands, () => {
    const [source, dest, ...more] = o.operands as string[];
    if (source === undefined || dest === undefined || more.length > 0) {
      ctx.skipped(inv, 'not applied: bootforge moves one file at a time');
      return DONT_KNOW;
    }
    const from = where(ctx, inv, source, false);
    if (from?.node === undefined) return FAIL;
    if (from.node.type === 'dir') {
      ctx.skipped(inv, 'not applied: moves a directory');
      return DONT_KNOW;
    }
    const target = destination(ctx, inv, dest, baseName(from.path));
    if (target === undefined) return FAIL;
    if (target === from.path) return OK;
    ctx.overlay.set(target, from.node);
    ctx.overlay.delete(from.path);
    ctx.done(inv, `moved ${from.path} to ${target}`);
    return OK;
  });
};

const ln: Handler = (inv, ctx) => {
  const o = parseArgs(inv.args, {
    short: 'sfnTvbrLP',
    long: ['symbolic', 'force', 'no-dereference', 'no-target-directory', 'verbose', 'relative'],
    aliases: { s: 'symbolic', f: 'force', n: 'no-dereference', T: 'no-dereference', r: 'relative' },
  });
  return guarded(inv, ctx, o.operands, () => {
    const [target, link, ...more] = o.operands as string[];
    if (!o.flags.has('symbolic') || o.flags.has('relative') || target === undefined || more.length > 0) {
      ctx.skipped(inv, 'not applied: bootforge makes one symbolic link at a time');
      return DONT_KNOW;
    }
    const name = link ?? baseName(target);
    const noDeref = o.flags.has('no-dereference');
    const at = where(ctx, inv, name, !noDeref);
    if (at === undefined) return FAIL;
    let path = at.path;
    if (at.node?.type === 'dir' && link !== undefined) path = `${path === '/' ? '' : path}/${baseName(target)}`;
    else if (link === undefined && inv.cwd !== UNKNOWN) path = at.path;
    const existing = ctx.overlay.node(path);
    if (existing !== undefined && !o.flags.has('force')) return FAIL;
    if (existing?.type === 'dir') return FAIL;
    if (ctx.overlay.node(parentOf(path))?.type !== 'dir') return FAIL;
    ctx.overlay.set(path, { type: 'symlink', target });
    ctx.done(inv, `linked ${path} -> ${target}`);
    return OK;
  });
};

const mkdir: Handler = (inv, ctx) => {
  const o = parseArgs(inv.args, {
    short: 'pvZ',
    shortValue: 'm',
    long: ['parents', 'verbose'],
    longValue: ['mode', 'context'],
    aliases: { p: 'parents', m: 'mode' },
  });
  return guarded(inv, ctx, [...o.operands, o.flags.get('mode') ?? ''], () => {
    const modeText = o.flags.get('mode') as string | undefined;
    const base = 0o777 & ~inv.umask;
    const mode = modeText === undefined ? base : parseMode(modeText, 0o777, true);
    if (mode === undefined) {
      ctx.skipped(inv, `not applied: mode ${modeText ?? ''} not understood`);
      return DONT_KNOW;
    }
    for (const dir of o.operands as string[]) {
      if (!makeDir(ctx, inv, dir, mode, o.flags.has('parents'))) return FAIL;
    }
    ctx.done(inv, `created ${(o.operands as string[]).join(', ')}`);
    return OK;
  });
};

function makeDir(ctx: ScriptContext, inv: Invocation, dir: string, mode: number, parents: boolean): boolean {
  const absolute = dir.startsWith('/') ? dir : `${isKnown(inv.cwd) ? inv.cwd : '/'}/${dir}`;
  const parts = absolute.split('/').filter((p) => p !== '');
  for (let i = 1; i <= parts.length; i++) {
    const sub = `/${parts.slice(0, i).join('/')}`;
    const r = ctx.overlay.resolve(sub, true);
    if (r === undefined) return false;
    if (r.node?.type === 'dir') {
      if (i === parts.length && !parents) return false;
      continue;
    }
    if (r.node !== undefined) return false;
    if (i < parts.length && !parents) return false;
    const m = i === parts.length ? mode : (0o777 & ~inv.umask) | 0o300;
    ctx.overlay.set(r.path, { type: 'dir', mode: m, uid: 0, gid: 0 });
  }
  return true;
}

const rm: Handler = (inv, ctx) => {
  const o = parseArgs(inv.args, {
    short: 'frRvdi',
    long: ['force', 'recursive', 'verbose', 'dir'],
    aliases: { f: 'force', r: 'recursive', R: 'recursive' },
  });
  // Removing what is not there changes nothing, whatever the condition.
  const absent = o.operands.every((p) => typeof p === 'string' && where(ctx, inv, p, false)?.node === undefined);
  if (absent && o.flags.has('force') && o.operands.length > 0 && ctx.claimOf(String(o.operands[0])) === undefined) {
    ctx.done(inv, 'nothing to remove');
    return OK;
  }
  return guarded(inv, ctx, o.operands, () => {
    const gone: string[] = [];
    for (const p of o.operands as string[]) {
      const at = where(ctx, inv, p, false);
      if (at?.node === undefined) {
        if (!o.flags.has('force')) return FAIL;
        continue;
      }
      if (at.node.type === 'dir' && !o.flags.has('recursive')) return FAIL;
      ctx.overlay.delete(at.path);
      gone.push(at.path);
    }
    if (gone.length > 0) ctx.done(inv, `removed ${gone.join(', ')}`);
    return OK;
  });
};

const rmdir: Handler = (inv, ctx) => {
  const o = parseArgs(inv.args, { short: 'pv', long: ['ignore-fail-on-non-empty', 'parents', 'verbose'] });
  return guarded(inv, ctx, o.operands, () => {
    for (const p of o.operands as string[]) {
      const at = where(ctx, inv, p, false);
      if (at?.node?.type !== 'dir') return o.flags.has('ignore-fail-on-non-empty') ? OK : FAIL;
      if (ctx.overlay.list(at.path).length > 0) return o.flags.has('ignore-fail-on-non-empty') ? OK : FAIL;
      ctx.overlay.delete(at.path);
      ctx.done(inv, `removed the empty directory ${at.path}`);
    }
    return OK;
  });
};

const touch: Handler = (inv, ctx) => {
  const o = parseArgs(inv.args, {
    short: 'acmfh',
    shortValue: 'dtr',
    long: ['no-create', 'no-dereference'],
    longValue: ['reference', 'date', 'time'],
  });
  return guarded(inv, ctx, o.operands, () => {
    const made: string[] = [];
    for (const p of o.operands as string[]) {
      const at = where(ctx, inv, p, !o.flags.has('no-dereference'));
      if (at === undefined) return FAIL;
      if (at.node !== undefined) continue;
      if (o.flags.has('c') || o.flags.has('no-create')) continue;
      if (ctx.overlay.node(parentOf(at.path))?.type !== 'dir') return FAIL;
      ctx.overlay.set(at.path, newFile(0o666 & ~inv.umask, { kind: 'data', data: Buffer.alloc(0) }));
      made.push(at.path);
    }
    if (made.length > 0) ctx.done(inv, `created the empty file ${made.join(', ')}`);
    return OK;
  });
};

const chmod: Handler = (inv, ctx) => {
  const o = parseArgs(inv.args, { short: 'vfcR', long: ['recursive', 'verbose', 'silent', 'quiet'] });
  return guarded(inv, ctx, o.operands, () => {
    const [spec, ...paths] = o.operands as string[];
    if (spec === undefined || o.flags.has('R') || o.flags.has('recursive')) {
      ctx.skipped(inv, 'not applied: recursive or malformed chmod');
      return DONT_KNOW;
    }
    const set: string[] = [];
    for (const p of paths) {
      const at = where(ctx, inv, p, true);
      const node = at?.node;
      if (at === undefined || node === undefined) return FAIL;
      if (node.type !== 'file' && node.type !== 'dir') continue;
      const mode = parseMode(spec, node.mode, node.type === 'dir');
      if (mode === undefined) {
        ctx.skipped(inv, `not applied: mode ${spec} not understood`);
        return DONT_KNOW;
      }
      const atBoot = ctx.bootOwnership.get(at.path);
      if (atBoot !== undefined) {
        ctx.bootOwnership.set(at.path, { ...atBoot, mode });
        ctx.done(inv, `systemd-tmpfiles sets the mode of ${at.path} at boot, with its owner (${TMPFILES_NOTE})`);
        continue;
      }
      if (ctx.ownerAtBoot.has(at.path)) {
        ctx.skipped(inv, `not applied: ${at.path} keeps its packaged mode, as its new owner exists only from boot on`);
        return DONT_KNOW;
      }
      ctx.overlay.set(at.path, { ...node, mode });
      set.push(at.path);
    }
    if (set.length > 0) ctx.done(inv, `set the mode of ${set.join(', ')}`);
    return OK;
  });
};

function chownWith(kind: 'chown' | 'chgrp'): Handler {
  return (inv, ctx) => {
    const o = parseArgs(inv.args, {
      short: 'vfchR',
      long: ['recursive', 'verbose', 'silent', 'quiet', 'no-dereference'],
    });
    return guarded(inv, ctx, o.operands, () => {
      const [spec, ...paths] = o.operands as string[];
      if (spec === undefined || o.flags.has('R') || o.flags.has('recursive')) {
        ctx.skipped(inv, 'not applied: recursive or malformed');
        return DONT_KNOW;
      }
      const [userName, groupName] = kind === 'chgrp' ? ['', spec] : spec.split(/[:.]/);
      const uid = userName === undefined || userName === '' ? undefined : ctx.uidOf(userName);
      const gid = groupName === undefined || groupName === '' ? undefined : ctx.gidOf(groupName);
      if ((userName && uid === undefined) || (groupName && gid === undefined)) {
        const resolved = paths.map((p) => where(ctx, inv, p, true)?.path ?? p);
        if (resolved.every(writableAtBoot)) {
          for (const p of resolved) {
            const previous = ctx.bootOwnership.get(p);
            ctx.bootOwnership.set(p, {
              ...previous,
              ...(userName ? { user: userName } : {}),
              ...(groupName ? { group: groupName } : {}),
            });
          }
          ctx.done(inv, `${spec} exists only from boot on: systemd-tmpfiles sets the owner then (${TMPFILES_NOTE})`);
          return OK;
        }
        for (const p of resolved) ctx.ownerAtBoot.add(p);
        ctx.skipped(
          inv,
          `not applied: ${spec} is an account systemd-sysusers creates at boot, so its id is not known when the image is built`,
        );
        return DONT_KNOW;
      }
      for (const p of paths) {
        const at = where(ctx, inv, p, true);
        const node = at?.node;
        if (at === undefined || node === undefined) return FAIL;
        if (node.type !== 'file' && node.type !== 'dir') continue;
        ctx.overlay.set(at.path, { ...node, uid: uid ?? node.uid, gid: gid ?? node.gid });
      }
      ctx.done(inv, `set the owner of ${paths.join(', ')} to ${spec}`);
      return OK;
    });
  };
}

const install: Handler = (inv, ctx) => {
  const o = parseArgs(inv.args, {
    short: 'dDvpsCcZ',
    shortValue: 'mog',
    long: ['directory'],
    longValue: ['mode', 'owner', 'group'],
    aliases: { d: 'directory', m: 'mode', o: 'owner', g: 'group' },
  });
  if (!o.flags.has('directory') || o.flags.has('owner') || o.flags.has('group')) {
    ctx.skipped(inv, 'not applied: bootforge reproduces only install -d');
    return DONT_KNOW;
  }
  return guarded(inv, ctx, [...o.operands, o.flags.get('mode') ?? ''], () => {
    const modeText = o.flags.get('mode') as string | undefined;
    const mode = modeText === undefined ? 0o755 : parseMode(modeText, 0o755, true);
    if (mode === undefined) return DONT_KNOW;
    for (const dir of o.operands as string[]) if (!makeDir(ctx, inv, dir, mode, true)) return FAIL;
    ctx.done(inv, `created ${(o.operands as string[]).join(', ')}`);
    return OK;
  });
};

/** readlink [-f|-e|-m] and realpath: answered from the overlay. */
const readlink: Handler = (inv, ctx) => {
  const o = parseArgs(inv.args, { short: 'femnqsvz', long: ['canonicalize', 'no-newline'] });
  const [p] = o.operands;
  if (p === undefined || p === UNKNOWN) return DONT_KNOW;
  const canonical = inv.name === 'realpath' || o.flags.has('f') || o.flags.has('e') || o.flags.has('m');
  if (canonical) {
    const at = where(ctx, inv, p, !(inv.name === 'realpath' && o.flags.has('s')));
    if (at === undefined) return DONT_KNOW;
    if (at.node === undefined && o.flags.has('e')) return FAIL;
    return { status: 0, stdout: `${at.path}\n` };
  }
  const at = where(ctx, inv, p, false);
  if (at?.node?.type !== 'symlink') return { status: 1, stdout: '' };
  return { status: 0, stdout: `${at.node.target}\n` };
};

/** stat -c FORMAT (%a %u %g %U %G %n %F): answered from the overlay. */
const stat: Handler = (inv, ctx) => {
  const o = parseArgs(inv.args, { short: 'Lt', shortValue: 'c', longValue: ['format'], aliases: { c: 'format' } });
  const format = o.flags.get('format');
  const [p, ...more] = o.operands;
  if (typeof format !== 'string' || p === undefined || p === UNKNOWN || more.length > 0) return DONT_KNOW;
  const at = where(ctx, inv, p, o.flags.has('L'));
  const node = at?.node;
  if (at === undefined || node === undefined) return FAIL;
  const mode = node.type === 'file' || node.type === 'dir' ? node.mode : 0o777;
  const uid = node.type === 'file' || node.type === 'dir' ? node.uid : 0;
  const gid = node.type === 'file' || node.type === 'dir' ? node.gid : 0;
  const userName = [...ctx.users].find(([, u]) => u.uid === uid)?.[0];
  const groupName = [...ctx.groups].find(([, g]) => g === gid)?.[0];
  let unknown = false;
  const out = format.replace(/%([augUGnF%])/g, (_m, c: string) => {
    switch (c) {
      case 'a':
        return mode.toString(8);
      case 'u':
        return String(uid);
      case 'g':
        return String(gid);
      case 'U':
        if (userName === undefined) unknown = true;
        return userName ?? '';
      case 'G':
        if (groupName === undefined) unknown = true;
        return groupName ?? '';
      case 'n':
        return p;
      case 'F':
        return node.type === 'dir' ? 'directory' : node.type === 'symlink' ? 'symbolic link' : 'regular file';
      default:
        return '%';
    }
  });
  return unknown ? DONT_KNOW : { status: 0, stdout: `${out}\n` };
};

const cat: Handler = (inv) => {
  const files = inv.args.filter((a) => a !== '-');
  if (files.length === 0 && inv.stdin !== undefined) return { status: 0, stdout: inv.stdin };
  return DONT_KNOW;
};

function newFile(mode: number, content: Content): OverlayNode {
  return { type: 'file', mode, uid: 0, gid: 0, content };
}

/** Octal modes and chmod's symbolic ones (u+x, go-w, a=r, +t ...). */
export function parseMode(spec: string, current: number, isDir: boolean): number | undefined {
  if (/^[0-7]{1,4}$/.test(spec)) return parseInt(spec, 8);
  let mode = current;
  for (const clause of spec.split(',')) {
    const m = /^([ugoa]*)([-+=])([rwxXst]*)$/.exec(clause);
    if (m === null) return undefined;
    const who = m[1] === '' || m[1] === undefined ? 'a' : m[1];
    const op = m[2];
    const perms = m[3] ?? '';
    let bits = 0;
    const mask =
      (who.includes('u') || who.includes('a') ? 0o4700 : 0) |
      (who.includes('g') || who.includes('a') ? 0o2070 : 0) |
      (who.includes('o') || who.includes('a') ? 0o1007 : 0);
    for (const p of perms) {
      if (p === 'r') bits |= 0o444;
      if (p === 'w') bits |= 0o222;
      if (p === 'x' || (p === 'X' && (isDir || (current & 0o111) !== 0))) bits |= 0o111;
      if (p === 's') bits |= 0o6000;
      if (p === 't') bits |= 0o1000;
    }
    bits &= mask;
    if (op === '+') mode |= bits;
    else if (op === '-') mode &= ~bits;
    else mode = (mode & ~mask) | bits;
  }
  return mode & 0o7777;
}

export const FS_COMMANDS: Readonly<Record<string, Handler>> = {
  cp,
  mv,
  ln,
  mkdir,
  rm,
  rmdir,
  touch,
  chmod,
  chown: chownWith('chown'),
  chgrp: chownWith('chgrp'),
  install,
  readlink,
  realpath: readlink,
  'dpkg-realpath': (inv, ctx) => readlink({ ...inv, name: 'realpath', args: ['-m', ...inv.args] }, ctx),
  cat,
  stat,
};
