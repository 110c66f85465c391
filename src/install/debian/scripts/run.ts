/**
 * Runs every package's postinst through the shell evaluator, as dpkg would on
 * a first install ("postinst configure ''"), in install order, with the
 * command handlers of this folder as the commands.
 */
import { contentSize, type OverlayNode } from '../overlay.js';
import { Shell, type Invocation, type Outcome, type ShellHost } from '../shell/interpreter.js';
import { ShellSyntaxError } from '../shell/parser.js';
import { UNKNOWN, type Value } from '../shell/value.js';
import { ACCOUNT_COMMANDS } from './account-commands.js';
import type { Handler, ScriptContext } from './context.js';
import { DEBCONF_COMMANDS } from './debconf.js';
import { DPKG_COMMANDS } from './dpkg-commands.js';
import { FS_COMMANDS } from './fs-commands.js';
import { lookPath, MISC_COMMANDS } from './misc-commands.js';
import { SERVICE_COMMANDS } from './service-commands.js';

const HANDLERS: Readonly<Record<string, Handler>> = {
  ...FS_COMMANDS,
  ...DEBCONF_COMMANDS,
  ...DPKG_COMMANDS,
  ...SERVICE_COMMANDS,
  ...ACCOUNT_COMMANDS,
  ...MISC_COMMANDS,
};

export const PATH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export interface ScriptPackage {
  readonly name: string;
  readonly architecture: string;
  readonly postinst: string | undefined;
}

export function runPostinsts(packages: readonly ScriptPackage[], ctx: ScriptContext): void {
  for (const p of packages) {
    if (p.postinst === undefined) continue;
    ctx.package = p.name;
    const shebang = /^#!\s*(\S+)/.exec(p.postinst)?.[1] ?? '/bin/sh';
    if (!/\/(sh|dash|bash)$/.test(shebang)) {
      ctx.unhandled.push({
        package: p.name,
        line: `#!${shebang}`,
        note: 'not reproduced: postinst is not a shell script',
      });
      continue;
    }
    const shell = new Shell(hostFor(ctx), {
      positional: ['configure', ''],
      scriptName: `/var/lib/dpkg/info/${p.name}.postinst`,
      variables: {
        DPKG_ROOT: '',
        DPKG_ADMINDIR: '/var/lib/dpkg',
        DPKG_MAINTSCRIPT_PACKAGE: p.name,
        DPKG_MAINTSCRIPT_ARCH: p.architecture,
        DPKG_MAINTSCRIPT_NAME: 'postinst',
        DPKG_MAINTSCRIPT_PACKAGE_REFCOUNT: '1',
        DEBIAN_FRONTEND: 'noninteractive',
        PATH: PATH_DIRS.join(':'),
        HOME: '/root',
        IFS: ' \t\n',
      },
    });
    try {
      shell.runScript(p.postinst);
    } catch (e) {
      // One script bootforge cannot follow must not stop the build: what it did so far stays, the rest is reported.
      const why = e instanceof ShellSyntaxError ? 'bootforge cannot read it' : 'bootforge cannot evaluate it';
      const message = e instanceof Error ? e.message : String(e);
      ctx.unhandled.push({ package: p.name, line: 'postinst', note: `not reproduced: ${why} (${message})` });
    }
  }
}

function hostFor(ctx: ScriptContext): ShellHost {
  return {
    run: (inv) => dispatch(inv, ctx),
    fileTest: (op, path) => fileTest(ctx, op, path),
    which: (name) => lookPath(ctx.overlay, ctx.path, name) ?? '',
    readFile: (path, cwd) => {
      if (cwd === UNKNOWN && !path.startsWith('/')) return UNKNOWN;
      const node = ctx.overlay.resolve(path, true, cwd === UNKNOWN ? '/' : cwd)?.node;
      return node?.type === 'file' && node.content.kind === 'data' ? node.content.data.toString('utf8') : UNKNOWN;
    },
    writeFile: (path, data, append, inv) => writeFile(ctx, path, data, append, inv),
  };
}

function dispatch(inv: Invocation, ctx: ScriptContext): Outcome {
  if (inv.name === '') {
    if (!inv.captured) ctx.skipped(inv, 'not reproduced: the command name is computed at run time');
    return { status: UNKNOWN, stdout: UNKNOWN };
  }
  const base = inv.name.slice(inv.name.lastIndexOf('/') + 1);
  const handler = HANDLERS[base];
  if (handler !== undefined) return handler(inv, ctx);
  if (!inv.captured) ctx.skipped(inv, 'not reproduced');
  return { status: UNKNOWN, stdout: UNKNOWN };
}

function fileTest(ctx: ScriptContext, op: string, path: string): boolean | typeof UNKNOWN {
  if (path === '') return false;
  const follow = op !== '-L' && op !== '-h';
  const r = ctx.overlay.resolve(path, follow);
  const node: OverlayNode | undefined = r?.node;
  if (node === undefined) return false;
  switch (op) {
    case '-e':
    case '-r':
    case '-w':
      return true;
    case '-f':
      return node.type === 'file';
    case '-d':
      return node.type === 'dir';
    case '-L':
    case '-h':
      return node.type === 'symlink';
    case '-x':
      return (node.type === 'file' || node.type === 'dir') && (node.mode & 0o111) !== 0;
    case '-s':
      return node.type === 'file' ? contentSize(node.content) > 0 : node.type === 'dir';
    case '-b':
      return node.type === 'other' && node.entry.type === 'blockdev';
    case '-c':
      return node.type === 'other' && node.entry.type === 'chardev';
    case '-p':
      return node.type === 'other' && node.entry.type === 'fifo';
    case '-S':
      return false;
    case '-u':
      return (node.type === 'file' || node.type === 'dir') && (node.mode & 0o4000) !== 0;
    case '-g':
      return (node.type === 'file' || node.type === 'dir') && (node.mode & 0o2000) !== 0;
    case '-k':
      return (node.type === 'file' || node.type === 'dir') && (node.mode & 0o1000) !== 0;
    default:
      return UNKNOWN;
  }
}

/** `> path` / `>> path` of a command whose output bootforge knows (echo, printf, cat <<EOF). */
function writeFile(ctx: ScriptContext, path: Value, data: Value, append: boolean, inv: Invocation): void {
  if (path === '/dev/null' || (typeof path === 'string' && /^\/dev\/std(err|out)$/.test(path))) return;
  if (path === UNKNOWN) {
    ctx.skipped(inv, 'not applied: writes a file whose name bootforge cannot compute');
    return;
  }
  const claim = ctx.claimOf(path);
  if (claim !== undefined) {
    ctx.done(inv, claim);
    return;
  }
  if (!inv.certain) {
    ctx.skipped(inv, `not applied: writes ${path} only under a condition bootforge cannot evaluate`);
    return;
  }
  if (data === UNKNOWN) {
    ctx.skipped(inv, `not applied: writes ${path} with output bootforge cannot compute`);
    return;
  }
  const cwd = inv.cwd === UNKNOWN ? '/' : inv.cwd;
  const at = ctx.overlay.resolve(path, true, cwd);
  if (at === undefined || ctx.overlay.node(parentDir(at.path))?.type !== 'dir') {
    ctx.skipped(inv, `not applied: no directory for ${path}`);
    return;
  }
  const bytes = Buffer.from(data);
  const existing = at.node;
  if (existing !== undefined && existing.type !== 'file') {
    ctx.skipped(inv, `not applied: ${path} is a ${existing.type}`);
    return;
  }
  const content =
    append && existing !== undefined
      ? { kind: 'concat' as const, parts: [existing.content, { kind: 'data' as const, data: bytes }] }
      : { kind: 'data' as const, data: bytes };
  ctx.overlay.set(at.path, {
    type: 'file',
    mode: existing?.mode ?? 0o666 & ~inv.umask,
    uid: existing?.uid ?? 0,
    gid: existing?.gid ?? 0,
    content,
  });
  ctx.done(inv, `${append ? 'appended to' : 'wrote'} ${at.path}`);
}

function parentDir(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}
