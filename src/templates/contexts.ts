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

/** The context type of each built-in template, by template name. */
export interface TemplateContexts {
  readonly 'installer/loader.conf.hbs': LoaderConfContext;
  readonly 'installer/entry.conf.hbs': LoaderEntryContext;
  readonly 'initrd/init.sh.hbs': InitContext;
  readonly 'initrd/stage-probe.sh.hbs': ProbeStageContext;
}
