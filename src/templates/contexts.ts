/**
 * The values each template under src/templates/ expects, one interface per
 * template. Every key a template names must be present (use null or false for
 * "none"), even in a branch the values do not take: a missing key is a
 * BF_TEMPLATE error, not an empty string.
 *
 * Strings here may hold anything (quotes, `$(...)`, newlines): the templates
 * put them into shell scripts only as single-quoted words. Validation of what
 * makes sense (a module name, a host name) belongs to the profile schema.
 */

/** What an initrd is for. The role's stage scripts live in /lib/bootforge/stage.d/. */
export type InitrdRole = 'installer' | 'generation' | 'probe';

/** What /init does after a failure, once the rescue shell (if any) is left. */
export type FailureAction = 'poweroff' | 'reboot';

/** `initrd/init.sh.hbs`: the /init (PID 1) of every bootforge initrd. */
export interface InitContext {
  /** Name of the initrd, shown in the banner, e.g. `"laptop-installer"`. */
  readonly name: string;
  /** Shown in the banner; selects nothing by itself (the stage scripts in the archive do). */
  readonly role: InitrdRole;
  /**
   * Kernel modules to load with `modprobe -q`, in this order (dependencies
   * first), e.g. `["virtio_pci", "virtio_blk"]`. A module that fails to load is
   * logged by name and skipped. May be empty.
   */
  readonly modules: readonly string[];
  /**
   * After a failure (and on `bootforge.break` on the kernel command line), open
   * a shell on the console. Off for unattended machines: whoever sits at the
   * console gets root.
   */
  readonly rescueShell: boolean;
  /** What to do after a failure, once the rescue shell is left. */
  readonly failureAction: FailureAction;
  /** Seconds to wait (showing the error) before the failure action. An integer >= 0. */
  readonly failureDelaySeconds: number;
}

/** `initrd/stage-probe.sh.hbs`: a stage that reports modules and disks, prints a marker and powers off. */
export interface ProbeStageContext {
  /** Printed as `bootforge-probe: OK <marker>`; a boot test waits for that line. */
  readonly marker: string;
}

/** `installer/loader.conf.hbs`: systemd-boot's loader.conf on the installer's ESP. */
export interface LoaderConfContext {
  readonly name: string;
  /** Seconds the menu shows; 0 boots the default at once. */
  readonly timeout: number;
  /** File name of the default entry, e.g. `bootforge-install.conf`. */
  readonly defaultEntry: string;
}

/** `installer/entry.conf.hbs`: one boot loader entry (Boot Loader Specification type 1). */
export interface LoaderEntryContext {
  readonly title: string;
  readonly sortKey: string;
  /** The kernel command line, one line. */
  readonly options: string;
}

/** The disk rule of the profile, as the installer's shell compares it (empty string / 0 = not set). */
export interface TargetRuleContext {
  readonly byId: string;
  readonly serial: string;
  readonly wwn: string;
  /** A shell glob over the disk model (used only as a `case` pattern). */
  readonly model: string;
  readonly transport: string;
  /** Bytes; 0 = no bound. */
  readonly minSize: number;
  readonly maxSize: number;
  readonly removable: 'yes' | 'no';
  readonly pick: 'only' | 'largest' | 'smallest';
}

/** `initrd/stage-install.sh.hbs`: the installer's stage (target, payload, partitions, store, boot loader). */
export interface InstallStageContext {
  readonly profile: string;
  readonly mode: 'confirm' | 'unattended';
  readonly after: 'reboot' | 'poweroff';
  readonly wipe: 'never' | 'always';
  /** Bytes. */
  readonly espSize: number;
  /** Bytes; 0 = no swap partition. */
  readonly swapSize: number;
  /** Bytes; 0 = the rest of the disk. */
  readonly rootSize: number;
  readonly target: TargetRuleContext;
  readonly hardware: {
    /** fixed: chosen at build time (the installer only reports whether DMI agrees); auto: picked by DMI. */
    readonly mode: 'fixed' | 'auto';
    /** The fixed descriptions' ids, comma-separated ("" in auto mode). */
    readonly fixed: string;
    /** Auto mode: the generic description taken when none matches ("" if there is none). */
    readonly generic: string;
    /** Every bundled description's DMI rules; patterns are globs (`*`, `?`). */
    readonly rules: readonly {
      readonly id: string;
      readonly fields: readonly { readonly field: string; readonly patterns: readonly string[] }[];
    }[];
  };
}

/** `initrd/stage-generation.sh.hbs`: mounts and enters a generation (everything comes from the command line). */
export type GenerationStageContext = Record<string, never>;

/** `generation/activate.sh.hbs`: accounts, host name, fstab and identity of an installed generation. */
export interface ActivateContext {
  /** Supplementary groups with the GID to create them with when missing. */
  readonly groups: readonly { readonly name: string; readonly gid: number }[];
  readonly users: readonly {
    readonly name: string;
    readonly uid: number;
    readonly gid: number;
    readonly gecos: string;
    readonly home: string;
    readonly shell: string;
    /** Password hash for /etc/shadow; "" keeps the current one (a new account is locked). */
    readonly hash: string;
    /** Days since 1970 for /etc/shadow's last change (from the build's timestamp). */
    readonly lastChange: number;
    readonly groups: readonly string[];
    /** authorized_keys content; "" = none. */
    readonly keys: string;
  }[];
  /** The host name as text parts and DMI fields (serial, vendor, product) in order. */
  readonly hostnameParts: readonly (
    { readonly text: string; readonly dmi: false } | { readonly text: ''; readonly dmi: string }
  )[];
}

/** `generation/generation.conf.sh.hbs`: what a boot entry of the generation needs. */
export interface GenerationConfContext {
  readonly profile: string;
  /** Paths inside the generation's tree. */
  readonly kernel: string;
  readonly kernelRelease: string;
  readonly initrd: string;
  /** The kernel command line after root= and the bootforge.* words. */
  readonly params: string;
  /** YYYY-MM-DD of the build. */
  readonly date: string;
  /** Boot counting tries of the generation's entry (generations.tries). */
  readonly tries: number;
}

/** `generation/boot-complete.sh.hbs`: the health point of a boot. */
export interface BootCompleteContext {
  readonly systemd: boolean;
  readonly checks: readonly { readonly run: string; readonly timeout: number; readonly failure: string }[];
}

/** The context type of each built-in template, by template name. */
export interface TemplateContexts {
  readonly 'installer/loader.conf.hbs': LoaderConfContext;
  readonly 'installer/entry.conf.hbs': LoaderEntryContext;
  readonly 'initrd/init.sh.hbs': InitContext;
  readonly 'initrd/stage-probe.sh.hbs': ProbeStageContext;
  /** The installer's disk library (functions only, no values). */
  readonly 'initrd/lib-disks.sh.hbs': Record<string, never>;
  readonly 'initrd/stage-install.sh.hbs': InstallStageContext;
  readonly 'initrd/lib-hardware.sh.hbs': Record<string, never>;
  /** The installer's progress inside a long step (functions only, no values). */
  readonly 'initrd/lib-progress.sh.hbs': Record<string, never>;
  readonly 'initrd/stage-generation.sh.hbs': GenerationStageContext;
  readonly 'generation/activate.sh.hbs': ActivateContext;
  readonly 'generation/generation.conf.sh.hbs': GenerationConfContext;
  readonly 'generation/inittab.hbs': Record<string, never>;
  /** `/usr/sbin/bootforge-gen`: list, switch, rollback, gc, bless (no build values). */
  readonly 'generation/bootforge-gen.sh.hbs': Record<string, never>;
  readonly 'generation/boot-complete.sh.hbs': BootCompleteContext;
  /** `/usr/lib/bootforge/boot-deadline`: reboots a counted boot that does not become healthy in time. */
  readonly 'generation/boot-deadline.sh.hbs': { readonly timeout: number };
  readonly 'generation/rc.sysinit.sh.hbs': Record<string, never>;
  readonly 'generation/rc.shutdown.sh.hbs': Record<string, never>;
  /** `/usr/lib/bootforge/console <tty>`: the test shell in a `bootforge test` VM, else a login prompt. */
  readonly 'generation/console.sh.hbs': Record<string, never>;
  /** `/usr/lib/bootforge/test-shell`: runs `bootforge test`'s commands on the serial console (see src/qemu/test-shell.ts). */
  readonly 'generation/test-shell.sh.hbs': Record<string, never>;
}
