/** dpkg's own helpers as maintainer scripts call them: dpkg, dpkg-divert, dpkg-statoverride, update-alternatives. */
import type { Outcome } from '../shell/interpreter.js';
import { allKnown, UNKNOWN } from '../shell/value.js';
import { versionRelation } from '../versions.js';
import { commandText, type Handler } from './context.js';
import { TMPFILES_CONF, writableAtBoot } from './fs-commands.js';
import { parseArgs } from './options.js';

const OK: Outcome = { status: 0, stdout: '' };
const DONT_KNOW: Outcome = { status: UNKNOWN, stdout: UNKNOWN };

const dpkg: Handler = (inv, ctx) => {
  const [first, a, op, b] = inv.args;
  if (first === '--compare-versions') {
    if (a === undefined || a === UNKNOWN || op === UNKNOWN || op === undefined || b === undefined || b === UNKNOWN) {
      return DONT_KNOW;
    }
    const r = versionRelation(a, op, b);
    return { status: r === undefined ? 2 : r ? 0 : 1, stdout: '' };
  }
  if (first === '--print-architecture') return { status: 0, stdout: `${ctx.architecture}\n` };
  return search(inv.args, ctx);
};

/** dpkg -S / dpkg-query -S with absolute paths: which installed package ships each. */
function search(args: readonly (string | typeof UNKNOWN)[], ctx: Parameters<Handler>[1]): Outcome {
  const [flag, ...paths] = args;
  if ((flag !== '-S' && flag !== '--search') || paths.length === 0) return DONT_KNOW;
  let out = '';
  for (const p of paths) {
    if (p === UNKNOWN || !p.startsWith('/') || /[*?[]/.test(p)) return DONT_KNOW;
    const owners = ctx.owners.get(p) ?? ctx.owners.get(ctx.overlay.resolve(p, false)?.path ?? p);
    if (owners === undefined) return { status: 1, stdout: out };
    out += `${owners.join(', ')}: ${p}\n`;
  }
  return { status: 0, stdout: out };
}

const dpkgDivert: Handler = (inv, ctx) => {
  const o = parseArgs(inv.args, {
    short: '',
    long: ['add', 'remove', 'rename', 'no-rename', 'local', 'quiet', 'test', 'list', 'listpackage', 'truename'],
    longValue: ['package', 'divert', 'admindir', 'instdir', 'root'],
  });
  const [file] = o.operands;
  const current = () => ctx.diversions.find((d) => d.path === file);
  if (o.flags.has('listpackage')) {
    if (file === undefined || file === UNKNOWN) return DONT_KNOW;
    const d = current();
    return { status: 0, stdout: d === undefined ? '' : `${d.package === ':' ? 'LOCAL' : d.package}\n` };
  }
  if (o.flags.has('truename')) {
    if (file === undefined || file === UNKNOWN) return DONT_KNOW;
    return { status: 0, stdout: `${current()?.divertTo ?? file}\n` };
  }
  if (o.flags.has('list')) {
    return {
      status: 0,
      stdout: ctx.diversions
        .filter((d) => file === undefined || d.path === file)
        .map((d) => `diversion of ${d.path} to ${d.divertTo} by ${d.package}\n`)
        .join(''),
    };
  }
  const pkg = o.flags.has('local') ? ':' : (o.flags.get('package') ?? ctx.package);
  if (allKnown([file ?? UNKNOWN, pkg, o.flags.get('divert') ?? '']) === undefined || file === undefined) {
    ctx.skipped(inv, `not applied: ${commandText(inv)} has words bootforge cannot compute`);
    return DONT_KNOW;
  }
  const path = file as string;
  if (o.flags.has('remove')) {
    const at = ctx.diversions.findIndex((d) => d.path === path);
    if (at >= 0 && inv.certain) {
      ctx.diversions.splice(at, 1);
      ctx.done(inv, `removed the diversion of ${path}`);
    }
    return OK;
  }
  if (!inv.certain) {
    ctx.skipped(inv, 'not applied: runs only under a condition bootforge cannot evaluate');
    return DONT_KNOW;
  }
  const divertTo = (o.flags.get('divert') as string | undefined) ?? `${path}.distrib`;
  const existing = current();
  if (existing !== undefined) return existing.divertTo === divertTo ? OK : { status: 2, stdout: '' };
  ctx.diversions.push({ path, divertTo, package: pkg as string });
  if (o.flags.has('rename')) {
    const from = ctx.overlay.resolve(path, false);
    const to = ctx.overlay.resolve(divertTo, false);
    if (from?.node !== undefined && to !== undefined && to.node === undefined) {
      ctx.overlay.set(to.path, from.node);
      ctx.overlay.delete(from.path);
    }
  }
  ctx.done(inv, `recorded the diversion of ${path} to ${divertTo} in /var/lib/dpkg/diversions`);
  return OK;
};

const dpkgStatoverride: Handler = (inv, ctx) => {
  const o = parseArgs(inv.args, {
    long: ['add', 'remove', 'list', 'update', 'force', 'quiet', 'force-all', 'force-statoverride-add'],
    longValue: ['admindir', 'root'],
  });
  if (o.flags.has('list')) {
    const [path] = o.operands;
    if (path === UNKNOWN) return DONT_KNOW;
    const found = ctx.statOverrides.filter((s) => path === undefined || s.path === path);
    return {
      status: found.length > 0 ? 0 : 1,
      stdout: found.map((s) => `${s.user} ${s.group} ${s.mode.toString(8)} ${s.path}\n`).join(''),
    };
  }
  if (o.flags.has('remove')) return OK;
  if (!o.flags.has('add')) return DONT_KNOW;
  const words = allKnown(o.operands);
  if (words === undefined || words.length !== 4 || !inv.certain) {
    ctx.skipped(inv, 'not applied: arguments or condition bootforge cannot evaluate');
    return DONT_KNOW;
  }
  const [user = '', group = '', modeText = '', path = ''] = words;
  const mode = parseInt(modeText, 8);
  ctx.statOverrides.push({ user, group, mode, path });
  const uid = ctx.uidOf(user);
  const gid = ctx.gidOf(group);
  const at = ctx.overlay.resolve(path, true);
  const node = at?.node;
  if (o.flags.has('update') && at !== undefined && (node?.type === 'file' || node?.type === 'dir')) {
    if ((uid === undefined || gid === undefined) && writableAtBoot(at.path)) {
      ctx.bootOwnership.set(at.path, { user, group, mode });
      ctx.done(
        inv,
        `recorded in /var/lib/dpkg/statoverride; systemd-tmpfiles sets owner and mode at boot (${TMPFILES_CONF})`,
      );
      return OK;
    }
    if (uid === undefined || gid === undefined) {
      ctx.skipped(
        inv,
        `recorded in /var/lib/dpkg/statoverride, but ${path} keeps its packaged owner and mode: ${uid === undefined ? user : group} is created at boot by systemd-sysusers, so its id is not known when the image is built`,
      );
      return OK;
    }
    ctx.overlay.set(at.path, { ...node, uid, gid, mode });
  }
  ctx.done(inv, `recorded in /var/lib/dpkg/statoverride${o.flags.has('update') ? ' and applied' : ''}`);
  return OK;
};

/** update-alternatives --install LINK NAME PATH PRIORITY [--slave LINK NAME PATH]... */
const updateAlternatives: Handler = (inv, ctx) => {
  const args = inv.args.filter((a) => a !== '--quiet' && a !== '--verbose' && a !== '--force');
  const action = args[0];
  if (action === '--remove' || action === '--remove-all') {
    ctx.done(inv, 'nothing to remove on a first install');
    return OK;
  }
  if (action !== '--install') {
    ctx.skipped(inv, `not reproduced: update-alternatives ${String(action === UNKNOWN ? '?' : action)}`);
    return DONT_KNOW;
  }
  const words = allKnown(args);
  if (words === undefined) {
    ctx.skipped(inv, `not applied: ${commandText(inv)} has words bootforge cannot compute`);
    return DONT_KNOW;
  }
  const [, link, name, path, priorityText, ...rest] = words;
  const priority = Number(priorityText);
  if (link === undefined || name === undefined || path === undefined || !Number.isInteger(priority)) {
    ctx.skipped(inv, 'not applied: malformed --install');
    return DONT_KNOW;
  }
  const slaves: { link: string; name: string; path: string }[] = [];
  for (let i = 0; i < rest.length;) {
    const [flag, sLink, sName, sPath] = rest.slice(i, i + 4);
    if (flag !== '--slave' || sLink === undefined || sName === undefined || sPath === undefined) {
      ctx.skipped(inv, `not applied: unexpected ${flag ?? 'end'} after --install`);
      return DONT_KNOW;
    }
    slaves.push({ link: sLink, name: sName, path: sPath });
    i += 4;
  }
  ctx.alternatives.push({ package: ctx.package, link, name, path, priority, slaves });
  ctx.done(inv, `alternative ${name}: ${path} (priority ${priority})`);
  return OK;
};

export const DPKG_COMMANDS: Readonly<Record<string, Handler>> = {
  dpkg,
  'dpkg-divert': dpkgDivert,
  'dpkg-statoverride': dpkgStatoverride,
  'update-alternatives': updateAlternatives,
  'dpkg-maintscript-helper': (inv, ctx) => {
    const [command] = inv.args;
    if (command === 'supports') return OK;
    ctx.done(inv, 'acts only when upgrading from an older version; nothing to do on a first install');
    return OK;
  },
  'dpkg-trigger': (inv, ctx) => {
    ctx.done(inv, "a trigger only re-runs another package's update command, which bootforge covers where it is needed");
    return OK;
  },
  'dpkg-query': (inv, ctx) => search(inv.args, ctx),
};
