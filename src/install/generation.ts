import { BootforgeError } from '../errors/index.js';
import type { ResolvedProfile } from '../profile/resolve.js';
import { checkedHostFile, readHostFile } from '../schema/host-files.js';
import type { ActivateContext } from '../templates/contexts.js';
import { renderTemplate } from '../templates/render.js';
import { HARDWARE_DIR, type HardwareVariant } from './hardware.js';

/** A file bootforge adds to a generation's tree. */
export interface GeneratedFile {
  readonly path: string;
  readonly data: Buffer;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

/** What bootforge adds to the packages' tree to make it a generation. */
export interface GenerationAdditions {
  readonly files: readonly GeneratedFile[];
  readonly dirs: readonly { readonly path: string; readonly mode: number }[];
  /** Symlinks to add where the packages put nothing. */
  readonly symlinks: readonly { readonly path: string; readonly target: string }[];
}

export interface GenerationInputs {
  readonly profile: ResolvedProfile;
  readonly activation: ActivateContext;
  readonly kernel: { readonly release: string; readonly path: string };
  /** The generation's own initrd (role generation). */
  readonly initrd: Buffer;
  /** busybox's applets, for a system with busybox as init; [] otherwise. */
  readonly busyboxApplets: readonly string[];
  /** Path of busybox in the tree, the target of the applet links. */
  readonly busyboxPath: string;
  readonly epochSeconds: number;
  /** Auto mode: each candidate description's configuration, applied on the machine that matches. */
  readonly hardware: readonly HardwareVariant[];
}

const SYSTEMD_UNITS = '/usr/lib/systemd/system';

/**
 * The generation's kernel parameters: the profile's, and panic=10 unless it sets panic=, so
 * that a kernel that panics reboots and the boot counter moves on to the next try.
 */
export function generationParams(params: readonly string[]): string[] {
  return params.some((p) => p.startsWith('panic=')) ? [...params] : [...params, 'panic=10'];
}

/** Where a generation keeps bootforge's own files. */
export const GENERATION_LIB = '/usr/lib/bootforge';
export const GENERATION_INITRD = `${GENERATION_LIB}/initrd.img`;

// Mount points the generation's initrd and init need in the read-only tree.
const MOUNT_POINTS: readonly [string, number][] = [
  ['/boot', 0o755],
  ['/bootforge', 0o755],
  ['/dev', 0o755],
  ['/etc', 0o755],
  ['/home', 0o755],
  ['/proc', 0o555],
  ['/root', 0o700],
  ['/run', 0o755],
  ['/sys', 0o555],
  ['/sysroot', 0o755],
  ['/tmp', 0o1777],
  ['/var', 0o755],
];

const text = (s: string) => Buffer.from(s);
const file = (path: string, data: Buffer | string, mode = 0o644): GeneratedFile => ({
  path,
  data: Buffer.isBuffer(data) ? data : text(data),
  mode,
  uid: 0,
  gid: 0,
});

/**
 * The files that turn an unpacked package tree into a bootable generation: its
 * initrd, the activation script, generation.conf (what its boot entry needs),
 * the profile's files, modprobe configuration, and for busybox init the init
 * scripts and applet links.
 */
export function generationAdditions(inputs: GenerationInputs): GenerationAdditions {
  const { profile, activation } = inputs;
  const d = profile.data;
  const files: GeneratedFile[] = [
    file(GENERATION_INITRD, inputs.initrd),
    file(`${GENERATION_LIB}/activate`, renderTemplate('generation/activate.sh.hbs', activation), 0o755),
    file(
      `${GENERATION_LIB}/generation.conf`,
      renderTemplate('generation/generation.conf.sh.hbs', {
        profile: profile.name,
        kernel: inputs.kernel.path,
        kernelRelease: inputs.kernel.release,
        initrd: GENERATION_INITRD,
        params: generationParams(d.kernel.params).join(' '),
        date: new Date(inputs.epochSeconds * 1000).toISOString().slice(0, 10),
        tries: d.generations.tries,
      }),
    ),
    file('/usr/sbin/bootforge-gen', renderTemplate('generation/bootforge-gen.sh.hbs', {}), 0o755),
    file(
      `${GENERATION_LIB}/boot-complete`,
      renderTemplate('generation/boot-complete.sh.hbs', {
        systemd: d.system.init === 'systemd',
        checks: d.generations.health.map((c, i) => ({
          run: c.run,
          timeout: c.timeout,
          failure: `health check failed: ${c.name ?? `#${i + 1} (${c.run})`}`,
        })),
      }),
      0o755,
    ),
    file(
      `${GENERATION_LIB}/boot-deadline`,
      renderTemplate('generation/boot-deadline.sh.hbs', { timeout: d.generations.bootTimeout }),
      0o755,
    ),
    file(`${GENERATION_LIB}/console`, renderTemplate('generation/console.sh.hbs', {}), 0o755),
    file(`${GENERATION_LIB}/test-shell`, renderTemplate('generation/test-shell.sh.hbs', {}), 0o755),
  ];
  if (d.kernel.load.length > 0) {
    files.push(file('/etc/modules-load.d/bootforge.conf', `${d.kernel.load.join('\n')}\n`));
  }
  const modprobe = [
    ...d.kernel.blacklist.map((m) => `blacklist ${m}`),
    ...d.kernel.modprobe.map((m) => `options ${m.module} ${m.options}`),
  ];
  if (modprobe.length > 0) {
    files.push(
      file('/etc/modprobe.d/bootforge.conf', `# From the profile and its hardware.\n${modprobe.join('\n')}\n`),
    );
  }
  const symlinks: { path: string; target: string }[] = [];
  if (d.system.init === 'busybox') {
    files.push(
      file('/etc/inittab', renderTemplate('generation/inittab.hbs', {})),
      file(`${GENERATION_LIB}/rc.sysinit`, renderTemplate('generation/rc.sysinit.sh.hbs', {}), 0o755),
      file(`${GENERATION_LIB}/rc.shutdown`, renderTemplate('generation/rc.shutdown.sh.hbs', {}), 0o755),
      // busybox init's modprobe reads /etc/modules (the systemd way is modules-load.d).
      file('/etc/modules', d.kernel.load.length > 0 ? `${d.kernel.load.join('\n')}\n` : ''),
    );
    symlinks.push({ path: '/usr/sbin/init', target: inputs.busyboxPath });
    for (const applet of inputs.busyboxApplets) {
      if (applet === 'busybox') continue;
      symlinks.push({ path: `/usr/bin/${applet}`, target: inputs.busyboxPath });
    }
  }
  if (d.system.init === 'systemd') {
    // systemd starts a getty on the serial console named on the command line; the drop-in
    // makes it run bootforge's console, which is that getty unless a test VM asks for the shell.
    files.push(
      file(
        '/usr/lib/systemd/system/serial-getty@ttyS0.service.d/bootforge-console.conf',
        '# bootforge: the test shell in VMs with the SMBIOS OEM string io.bootforge.test-shell=1, else agetty.\n' +
          '[Service]\nExecStart=\nExecStart=-/usr/lib/bootforge/console ttyS0\n',
      ),
      file('/etc/timezone', `${d.system.timezone}\n`),
      file('/etc/default/locale', `LANG=${d.system.locale}\n`),
      file(
        `${SYSTEMD_UNITS}/bootforge-boot-deadline.service`,
        '[Unit]\nDescription=bootforge: reboot a counted boot that does not become healthy in time\n' +
          'DefaultDependencies=no\nAfter=local-fs.target\nConflicts=shutdown.target\nBefore=shutdown.target\n\n' +
          '[Service]\nExecStart=/usr/lib/bootforge/boot-deadline\n',
      ),
      file(
        `${SYSTEMD_UNITS}/bootforge-boot-complete.service`,
        '[Unit]\nDescription=bootforge: health point of this boot (bless the generation, or reboot)\n' +
          'After=multi-user.target\n\n' +
          '[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/usr/lib/bootforge/boot-complete\n' +
          'StandardOutput=journal+console\n',
      ),
      file(
        '/etc/default/keyboard',
        `# From the profile (system.keymap).\nXKBMODEL="pc105"\nXKBLAYOUT="${d.system.keymap}"\nXKBVARIANT=""\nXKBOPTIONS=""\nBACKSPACE="guess"\n`,
      ),
    );
    symlinks.push(
      { path: '/etc/localtime', target: `/usr/share/zoneinfo/${d.system.timezone}` },
      // Enabled statically (the tree is read-only; systemctl disable cannot undo a health point).
      {
        path: `${SYSTEMD_UNITS}/sysinit.target.wants/bootforge-boot-deadline.service`,
        target: '../bootforge-boot-deadline.service',
      },
      {
        path: `${SYSTEMD_UNITS}/multi-user.target.wants/bootforge-boot-complete.service`,
        target: '../bootforge-boot-complete.service',
      },
    );
  }
  const sudoers = activation.users.filter((u) => d.users.find((x) => x.name === u.name)?.sudo);
  if (sudoers.length > 0) {
    files.push({
      ...file(
        '/etc/sudoers.d/bootforge',
        `# Users with sudo: true in the profile.\n${sudoers.map((u) => `${u.name} ALL=(ALL:ALL) NOPASSWD: ALL`).join('\n')}\n`,
      ),
      mode: 0o440,
    });
  }
  files.push(...profileFiles(profile, activation));
  for (const v of inputs.hardware) files.push(...variantFiles(v));
  return { files, dirs: MOUNT_POINTS.map(([path, mode]) => ({ path, mode })), symlinks };
}

/** The profile's `files:`, with content read from the build host and owners resolved to numbers. */
function profileFiles(profile: ResolvedProfile, activation: ActivateContext): GeneratedFile[] {
  return profile.data.files.map((f, i) => {
    let data: Buffer;
    if (f.content !== undefined) data = text(f.content);
    else if (f.source !== undefined) data = readHostFile(checkedHostFile(profile.sources, `files[${i}].source`));
    else data = Buffer.alloc(0);
    const [user = 'root', group = user] = f.owner.split(':');
    return {
      path: f.path,
      data,
      mode: parseInt(f.mode, 8),
      uid: idOf(user, activation, 'user', f.path),
      gid: idOf(group, activation, 'group', f.path),
    };
  });
}

function idOf(name: string, activation: ActivateContext, kind: 'user' | 'group', path: string): number {
  if (name === 'root') return 0;
  const user = activation.users.find((u) => u.name === name);
  if (user) return kind === 'user' ? user.uid : user.gid;
  const group = kind === 'group' ? activation.groups.find((g) => g.name === name) : undefined;
  if (group) return group.gid;
  throw new BootforgeError('BF_INVALID_VALUE', `${path}: owner ${kind} ${name} is not root or a user of the profile`, {
    hint: 'files can belong to root or to the users (and their groups) the profile declares',
  });
}

/** One candidate's configuration under /usr/lib/bootforge/hardware/<id>/ (see hardwareVariants). */
function variantFiles(v: HardwareVariant): GeneratedFile[] {
  const dir = `${HARDWARE_DIR}/${v.id}`;
  const out = [file(`${dir}/params`, v.params.length > 0 ? `${v.params.join(' ')}\n` : '')];
  const modprobe = [
    ...v.blacklist.map((m) => `blacklist ${m}`),
    ...v.modprobe.map((m) => `options ${m.module} ${m.options}`),
  ];
  if (modprobe.length > 0) {
    out.push(
      file(`${dir}/etc/modprobe.d/bootforge-hardware.conf`, `# From hardware ${v.id}.\n${modprobe.join('\n')}\n`),
    );
  }
  if (v.load.length > 0) out.push(file(`${dir}/etc/modules-load.d/bootforge-hardware.conf`, `${v.load.join('\n')}\n`));
  for (const f of v.files) out.push(file(`${dir}${f.path}`, f.content, parseInt(f.mode, 8)));
  return out;
}
