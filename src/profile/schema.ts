import { z } from 'zod';
import {
  accountId,
  accountName,
  componentName,
  espSize,
  fileMode,
  fileOwner,
  gecos,
  hardwareId,
  hostPath,
  hostname,
  kernelParam,
  keymap,
  locale,
  moduleName,
  packageName,
  oneLine,
  packageSpec,
  rootSize,
  size,
  sshPublicKey,
  strongPasswordHash,
  suiteName,
  swapSize,
  targetPath,
  timezone,
  unitName,
  url,
} from '../schema/fields.js';
import { rule, show } from '../schema/rule.js';

// The profile format. This file is the single source of the TypeScript types
// (ProfileSpec as written, ResolvedProfile after defaults), the runtime
// validation, and schema/profile.schema.json (scripts/write-schemas.ts).

const list = <T extends z.ZodType>(item: T) => z.array(item).default([]);

const profileNameRe = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const profileName = rule(z.string(), 'BF_PROFILE_NAME', (n) =>
  profileNameRe.test(n) ? undefined : `profile name ${show(n)} cannot name files and boot entries`,
).meta({ pattern: profileNameRe.source });

export const SystemSchema = z
  .strictObject({
    hostname: hostname.optional().meta({ description: 'Defaults to the profile name.' }),
    timezone: timezone.default('Etc/UTC'),
    locale: locale.default('C.UTF-8'),
    keymap: keymap.default('us'),
    init: z.enum(['systemd', 'busybox']).default('systemd').meta({
      description: 'PID 1 of the installed system: systemd for Debian systems, busybox for tiny appliances.',
    }),
  })
  .default({ timezone: 'Etc/UTC', locale: 'C.UTF-8', keymap: 'us', init: 'systemd' });

export const KernelSchema = z
  .strictObject({
    package: packageName.default('linux-image-amd64').meta({
      description: 'Kernel package. The generic kernel is needed for USB and AHCI; the cloud kernel has neither.',
    }),
    params: list(kernelParam).meta({ description: 'Kernel command line parameters of the installed system.' }),
    modules: list(moduleName).meta({ description: 'Modules to put in the initrd (names, globs or modaliases).' }),
    blacklist: list(moduleName).meta({ description: 'Modules never to load (/etc/modprobe.d).' }),
    systemModules: z.array(moduleName).optional().meta({
      description:
        "Modules the installed system keeps (names, globs or modaliases, with their dependencies). Default: all of the kernel's. A short list makes generations and update bundles much smaller (appliances, VMs).",
    }),
  })
  .default({ package: 'linux-image-amd64', params: [], modules: [], blacklist: [] });

export const PackagesSchema = z
  .strictObject({
    mirror: url.optional().meta({
      description: "Debian mirror URL. Default: BOOTFORGE_MIRROR, then the build host's apt sources.",
    }),
    securityMirror: url.optional().meta({
      description:
        'Mirror of the security archive, for *-security suites. Default: BOOTFORGE_SECURITY_MIRROR, then the mirror with "-security" appended to its path, then the host apt sources.',
    }),
    suites: z
      .array(suiteName)
      .min(1)
      .default(['bookworm', 'bookworm-updates', 'bookworm-security'])
      .meta({ description: 'Suites to take packages from; the highest version of a package across them wins.' }),
    components: z.array(componentName).min(1).default(['main']),
    architecture: z.enum(['amd64']).default('amd64'),
    keyring: hostPath.optional().meta({ description: 'OpenPGP keyring that signs the mirror (binary or armored).' }),
    install: list(packageSpec).meta({ description: 'Packages of the installed system (with their dependencies).' }),
  })
  .default({
    suites: ['bookworm', 'bookworm-updates', 'bookworm-security'],
    components: ['main'],
    architecture: 'amd64',
    install: [],
  });

export const UserSchema = z.strictObject({
  name: accountName,
  uid: accountId.optional().meta({ description: 'Omit to allocate from 1000 up.' }),
  description: gecos.optional().meta({ description: 'The comment field of passwd (GECOS): one line without ":".' }),
  groups: list(accountName),
  hashedPassword: strongPasswordHash.optional(),
  hashedPasswordFile: hostPath.optional().meta({ description: 'File on the build host holding the hash.' }),
  sshAuthorizedKeys: list(sshPublicKey),
  shell: targetPath.default('/bin/sh'),
  sudo: z.boolean().default(false).meta({ description: 'Passwordless sudo for this user.' }),
});

export const DiskTargetSchema = z
  .strictObject({
    byId: hostPath
      .optional()
      .meta({ description: 'Name under /dev/disk/by-id, e.g. nvme-Samsung_SSD_980_1TB_S64ANS0T123.' }),
    serial: oneLine('disk serial').optional(),
    wwn: oneLine('disk WWN').optional(),
    model: oneLine('disk model').optional().meta({ description: 'Glob over the disk model, e.g. "Samsung SSD 9*".' }),
    transport: z.enum(['nvme', 'sata', 'virtio', 'scsi', 'usb', 'mmc']).optional(),
    minSize: size.optional(),
    maxSize: size.optional(),
    removable: z
      .boolean()
      .default(false)
      .meta({ description: 'Allow removable disks as targets (never the installer medium).' }),
    pick: z.enum(['only', 'largest', 'smallest']).default('largest').meta({
      description:
        'Among matching disks: exactly one must match (only), or take the largest/smallest; a tie is refused.',
    }),
  })
  .default({ removable: false, pick: 'largest' });

export const DiskSchema = z
  .strictObject({
    target: DiskTargetSchema,
    wipe: z.enum(['never', 'always']).default('never').meta({
      description: 'never: refuse a disk that holds partitions or filesystem signatures. always: erase it.',
    }),
    layout: z
      .strictObject({
        esp: z.strictObject({ size: espSize.default(512 * 1024 ** 2) }).default({ size: 512 * 1024 ** 2 }),
        root: z
          .strictObject({
            filesystem: z.enum(['ext4']).default('ext4'),
            size: rootSize.optional().meta({ description: 'Default: the rest of the disk.' }),
          })
          .default({ filesystem: 'ext4' }),
        swap: z
          .strictObject({ size: swapSize.default(0).meta({ description: '0: no swap partition.' }) })
          .default({ size: 0 }),
      })
      .default({ esp: { size: 512 * 1024 ** 2 }, root: { filesystem: 'ext4' }, swap: { size: 0 } }),
  })
  .default({
    target: { removable: false, pick: 'largest' },
    wipe: 'never',
    layout: { esp: { size: 512 * 1024 ** 2 }, root: { filesystem: 'ext4' }, swap: { size: 0 } },
  });

export const FileSchema = z.strictObject({
  path: targetPath,
  content: z.string().optional(),
  source: hostPath.optional().meta({ description: 'File on the build host, relative to the profile.' }),
  mode: fileMode.default('0644'),
  owner: fileOwner.default('root:root'),
});

export const ServicesSchema = z
  .strictObject({ enable: list(unitName), disable: list(unitName) })
  .default({ enable: [], disable: [] });

export const InstallerSchema = z
  .strictObject({
    mode: z.enum(['confirm', 'unattended']).default('confirm').meta({
      description:
        'unattended installs without asking, but only when the kernel command line also carries bootforge.unattended (the default boot entry does).',
    }),
    after: z.enum(['reboot', 'poweroff']).default('reboot'),
    rescueShell: z
      .boolean()
      .default(false)
      .meta({ description: 'Drop to a shell on the console when installing fails.' }),
  })
  .default({ mode: 'confirm', after: 'reboot', rescueShell: false });

export const HardwareSelectionSchema = z
  .union([z.literal('auto'), z.array(hardwareId), z.strictObject({ auto: z.array(hardwareId).min(1) })])
  .meta({
    description:
      'Fixed hardware descriptions ([id, ...]), or detection at install time by DMI: auto (all bundled) or {auto: [id, ...]}.',
  });

// Tests are typed into the installed system's serial console, one line each.
const command = oneLine('command');
export const TestSchema = z.union([
  command,
  z.strictObject({
    name: oneLine('test name').optional(),
    succeed: command.optional(),
    fail: command.optional(),
    timeout: z.number().int().positive().optional().meta({ description: 'Seconds.' }),
  }),
]);

export const HealthCheckSchema = z.strictObject({
  name: oneLine('health check name').optional(),
  run: oneLine('health check').meta({ description: 'Shell command; exit status 0 means healthy.' }),
  timeout: z.number().int().positive().default(60).meta({ description: 'Seconds.' }),
});

export const GenerationsSchema = z
  .strictObject({
    tries: z.number().int().min(1).max(9).default(3).meta({
      description:
        "Boots a new generation gets (systemd-boot's boot counter) before the previous good one is booted instead.",
    }),
    bootTimeout: z.number().int().min(30).default(900).meta({
      description:
        'Seconds from the start of a counted boot to its health point; a boot that has not reached it by then is rebooted (a failed try).',
    }),
    health: list(HealthCheckSchema).meta({
      description:
        'Checks run once init reached its target (after activation succeeded); all pass = the boot is good and the entry is blessed, one fails = the boot failed (rebooted while it has tries).',
    }),
  })
  .default({ tries: 3, bootTimeout: 900, health: [] });

export const ProfileSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: profileName.meta({ description: 'Names the output folder and the boot entries.' }),
    description: oneLine('description').optional(),
    extends: z
      .union([hostPath, z.array(hostPath)])
      .optional()
      .meta({
        description: 'Profiles this one builds on: paths relative to this file, or names of profiles in its folder.',
      }),
    system: SystemSchema,
    kernel: KernelSchema,
    packages: PackagesSchema,
    users: list(UserSchema),
    disk: DiskSchema,
    files: list(FileSchema),
    services: ServicesSchema,
    installer: InstallerSchema,
    generations: GenerationsSchema,
    hardware: HardwareSelectionSchema.default([]),
    tests: list(TestSchema).meta({ description: 'Commands run inside the installed system by bootforge test.' }),
  })
  .meta({ title: 'bootforge profile' });

/** A profile as written (all optional but name). */
export type ProfileSpec = z.input<typeof ProfileSchema>;
/** A profile after merging and defaults. */
export type ProfileData = z.output<typeof ProfileSchema>;
export type UserSpec = z.output<typeof UserSchema>;
export type FileSpec = z.output<typeof FileSchema>;
export type HardwareSelection = z.output<typeof HardwareSelectionSchema>;
