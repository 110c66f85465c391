/**
 * The rest of what maintainer scripts run: steps bootforge carries out once
 * after all scripts (pam-auth-update, update-ca-certificates, shadowconfig,
 * update-shells), ucf, queries answered from the tree, and the commands that
 * need nothing (with the reason) or that bootforge does not reproduce.
 */
import type { Outcome } from '../shell/interpreter.js';
import { allKnown, UNKNOWN } from '../shell/value.js';
import { commandText, type Handler } from './context.js';

const OK: Outcome = { status: 0, stdout: '' };
const DONT_KNOW: Outcome = { status: UNKNOWN, stdout: UNKNOWN };

/** A step done once after every script ran; the note says where. */
function step(name: string, note: string): Handler {
  return (inv, ctx) => {
    if (!inv.certain) {
      ctx.skipped(inv, 'not applied: runs only under a condition bootforge cannot evaluate');
      return DONT_KNOW;
    }
    ctx.steps.set(name, ctx.package);
    ctx.done(inv, note);
    return OK;
  };
}

function needless(reason: string, status: Outcome = OK): Handler {
  return (inv, ctx) => {
    ctx.done(inv, reason);
    return status;
  };
}

function unhandled(reason: string): Handler {
  return (inv, ctx) => {
    ctx.skipped(inv, reason);
    return DONT_KNOW;
  };
}

/** Commands whose only use in scripts is to test something: their status is unknown, they change nothing. */
const QUERIES = [
  'grep',
  'egrep',
  'fgrep',
  'cmp',
  'diff',
  'sed',
  'awk',
  'cut',
  'tr',
  'sort',
  'uniq',
  'head',
  'tail',
  'wc',
  'md5sum',
  'sha256sum',
  'find',
  'ls',
  'pidof',
  'who',
  'runlevel',
  'sleep',
  'ischroot',
  'id',
  'date',
  'tty',
  'test',
  'logger',
  'apt-config',
  'perl',
  'python3',
  'env',
  'xargs',
  'tput',
  'ps',
  'kill',
  'lsb_release',
  'getconf',
];

const sed: Handler = (inv, ctx) => {
  if (inv.args.some((a) => typeof a === 'string' && /^-[a-zA-Z]*i/.test(a)) || inv.args.includes('--in-place')) {
    ctx.skipped(inv, 'not reproduced: edits a file with sed');
    return DONT_KNOW;
  }
  return DONT_KNOW;
};

/** ucf NEW DEST: on a first install the destination does not exist yet and becomes a copy of NEW. */
const ucf: Handler = (inv, ctx) => {
  const operands = inv.args.filter((a, i, all) => {
    if (typeof a === 'string' && a.startsWith('-')) return false;
    const prev = all[i - 1];
    return !(prev === '--sum-file' || prev === '--src-dir' || prev === '--state-dir');
  });
  const words = allKnown(operands);
  const [source, dest] = words ?? [];
  if (words?.length !== 2 || source === undefined || dest === undefined || !inv.certain) {
    ctx.skipped(inv, `not applied: ${commandText(inv)}`);
    return DONT_KNOW;
  }
  const from = ctx.overlay.resolve(source, true);
  const to = ctx.overlay.resolve(dest, true);
  if (from?.node?.type !== 'file' || to === undefined) {
    ctx.skipped(inv, `not applied: ${source} is not a file bootforge has`);
    return DONT_KNOW;
  }
  if (to.node === undefined) ctx.overlay.set(to.path, { ...from.node, mode: 0o644, uid: 0, gid: 0 });
  ctx.ucf.push({ package: ctx.package, path: dest });
  ctx.done(inv, `installed ${dest} from ${source}, registered with ucf`);
  return OK;
};

const ucfr: Handler = (inv, ctx) => {
  const words = allKnown(inv.args.filter((a) => typeof a !== 'string' || !a.startsWith('-')));
  if (words?.length !== 2) return DONT_KNOW;
  const [, path = ''] = words;
  if (!ctx.ucf.some((u) => u.path === path)) ctx.ucf.push({ package: words[0] ?? ctx.package, path });
  ctx.done(inv, `registered ${path} with ucf`);
  return OK;
};

const which: Handler = (inv, ctx) => {
  const [name] = inv.args.filter((a) => a !== '-a' && a !== '-s');
  if (name === undefined || name === UNKNOWN) return DONT_KNOW;
  const found = lookPath(ctx.overlay, ctx.path, name);
  return found === undefined ? { status: 1, stdout: '' } : { status: 0, stdout: `${found}\n` };
};

/** The first executable file called `name` in the PATH directories, as `command -v` finds it. */
export function lookPath(
  overlay: { resolve(p: string, follow: boolean): { node?: { type: string; mode?: number } | undefined } | undefined },
  dirs: readonly string[],
  name: string,
): string | undefined {
  const candidates = name.includes('/') ? [name] : dirs.map((d) => `${d}/${name}`);
  for (const c of candidates) {
    const node = overlay.resolve(c, true)?.node;
    if (node?.type === 'file' && ((node.mode ?? 0) & 0o111) !== 0) return c;
  }
  return undefined;
}

export const MISC_COMMANDS: Readonly<Record<string, Handler>> = {
  ...Object.fromEntries(QUERIES.map((q) => [q, (): Outcome => DONT_KNOW])),
  sed,
  ucf,
  ucfr,
  which,
  mktemp: (inv, ctx) => {
    // mktemp makes the file; scripts then copy into it. /tmp and the file stay out of the result.
    const path = ctx.tempPath();
    if (ctx.overlay.node('/tmp') === undefined) ctx.overlay.set('/tmp', { type: 'dir', mode: 0o1777, uid: 0, gid: 0 });
    ctx.overlay.set(path, {
      type: 'file',
      mode: 0o600,
      uid: 0,
      gid: 0,
      content: { kind: 'data', data: Buffer.alloc(0) },
    });
    return { status: 0, stdout: `${path}\n` };
  },
  basename: (inv) => {
    const [p, suffix] = inv.args;
    if (p === undefined || p === UNKNOWN || suffix === UNKNOWN) return DONT_KNOW;
    const b = p.replace(/\/+$/, '').split('/').pop() ?? '';
    return { status: 0, stdout: `${suffix !== undefined && b.endsWith(suffix) ? b.slice(0, -suffix.length) : b}\n` };
  },
  dirname: (inv) => {
    const [p] = inv.args;
    if (p === undefined || p === UNKNOWN) return DONT_KNOW;
    const i = p.replace(/\/+$/, '').lastIndexOf('/');
    return { status: 0, stdout: `${i < 0 ? '.' : i === 0 ? '/' : p.slice(0, i)}\n` };
  },
  uname: (inv) => {
    const [flag] = inv.args;
    return flag === undefined || flag === '-s' ? { status: 0, stdout: 'Linux\n' } : DONT_KNOW;
  },
  '.': (inv, ctx) => {
    const [file] = inv.args;
    if (file === '/usr/share/debconf/confmodule') return OK;
    if (file === '/usr/share/dpkg/sh/dpkg-error.sh') return OK;
    const claim = typeof file === 'string' ? ctx.claimOf(file) : undefined;
    if (claim !== undefined) {
      ctx.done(inv, claim);
      return OK;
    }
    ctx.skipped(inv, 'not reproduced: sources another script');
    return DONT_KNOW;
  },
  setup_colors: () => OK,
  // dpkg-error.sh's message functions.
  warning: () => OK,
  notice: () => OK,
  info: () => OK,
  debug: () => OK,
  error: () => OK,
  telinit: needless('tells the running init to re-execute'),
  eval: unhandled('not reproduced: eval'),

  // Done once, after every script.
  'pam-auth-update': step(
    'pam-auth-update',
    'writes /etc/pam.d/common-* from /usr/share/pam-configs (after all scripts)',
  ),
  'update-ca-certificates': step(
    'update-ca-certificates',
    'writes /etc/ssl/certs/ca-certificates.crt and the .pem links (after all scripts)',
  ),
  shadowconfig: step('shadow', 'writes /etc/shadow and /etc/gshadow (after all scripts)'),
  pwconv: step('shadow', 'writes /etc/shadow (after all scripts)'),
  grpconv: step('shadow', 'writes /etc/gshadow (after all scripts)'),
  'update-passwd': needless("/etc/passwd and /etc/group are copies of base-passwd's masters already"),
  'add-shell': (inv, ctx) => {
    const shells = allKnown(inv.args);
    if (shells === undefined || !inv.certain) {
      ctx.skipped(inv, 'not applied: shell or condition bootforge cannot evaluate');
      return DONT_KNOW;
    }
    for (const shell of shells) ctx.shells.push({ package: ctx.package, shell });
    ctx.done(inv, `adds ${shells.join(', ')} to /etc/shells`);
    return OK;
  },
  'remove-shell': needless('nothing to remove on a first install'),
  'update-shells': step(
    'update-shells',
    'adds the shells of /usr/share/debianutils/shells.d to /etc/shells (after all scripts)',
  ),

  // Needed by nobody: the booted system does it, or bootforge does it its own way.
  ldconfig: needless(
    "ld.so finds libraries in the standard multiarch directories without /etc/ld.so.cache (see libc-bin's triggers file)",
  ),
  'update-initramfs': needless('bootforge builds the initrd itself'),
  depmod: needless("bootforge writes the kernel's modules.dep and module indexes itself"),
  'linux-update-symlinks': needless('bootforge writes the boot entries itself'),
  'run-parts': needless('kernel hooks: bootforge builds the initrd and boot entries itself'),
  'update-grub': needless('bootforge boots with systemd-boot'),
  'systemd-tmpfiles': needless('systemd-tmpfiles-setup.service applies tmpfiles.d at every boot'),
  'systemd-sysusers': needless('systemd-sysusers.service creates the sysusers.d accounts at boot'),
  'systemd-machine-id-setup': needless("the generation's activation makes /etc/machine-id"),
  'dbus-uuidgen': needless("the generation's activation makes /etc/machine-id, which D-Bus reads"),
  journalctl: needless('systemd-journal-catalog-update.service builds the catalog at boot'),
  'systemd-hwdb': needless('systemd-hwdb-update.service builds hwdb.bin at boot'),
  'ssh-keygen': needless("the generation's activation makes the SSH host keys (kept in the machine's identity)"),
  restorecon: needless('no SELinux labels'),
  'update-menus': needless('no menu system'),
  setupcon: needless('console-setup.service and keyboard-setup.service run setupcon at boot'),
  udevadm: (inv, ctx) => {
    const [action] = inv.args;
    if (action === '--version' || action === 'info') return { status: 0, stdout: UNKNOWN };
    ctx.done(inv, 'acts on the running udev; at boot systemd-udev-trigger.service triggers every device');
    return OK;
  },
  getcap: () => ({ status: 0, stdout: '' }),
  setcap: (inv, ctx) => {
    if (inv.args[0] === '-r') {
      ctx.done(inv, 'no file capabilities to remove on a first install');
      return OK;
    }
    ctx.skipped(inv, 'not reproduced: file capabilities are not recorded in the image');
    return DONT_KNOW;
  },
  'update-mime-database': unhandled(
    'not reproduced: the shared MIME database (/usr/share/mime/mime.cache and friends)',
  ),
  'dbus-send': needless('reloads the running D-Bus daemon'),
  'clean-up-unmanaged-libraries': needless('cleans up after an old upgrade bug; nothing to clean on a first install'),

  // Effects bootforge does not reproduce.
  'locale-gen': unhandled('not reproduced: no locales are compiled (/usr/lib/locale/locale-archive)'),
  'update-locale': unhandled('not reproduced: /etc/default/locale'),
  'update-xmlcatalog': unhandled('not reproduced: XML catalogs (/etc/xml)'),
  'update-catalog': unhandled('not reproduced: SGML catalogs (/etc/sgml)'),
  'glib-compile-schemas': unhandled('not reproduced: compiled GSettings schemas'),
  'gio-querymodules': unhandled('not reproduced: the GIO module cache'),
  openssl: unhandled('not reproduced'),
};
