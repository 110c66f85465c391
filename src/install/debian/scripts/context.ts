/**
 * What the maintainer-script evaluator knows and collects while it runs the
 * scripts: the file overlay, debconf's answers, account ids, and the requests
 * (alternatives, units, users, shells, ...) that later steps turn into files.
 */
import type { Diversion, StatOverride } from '../dpkg-database.js';
import type { Overlay } from '../overlay.js';
import type { Invocation, Outcome } from '../shell/interpreter.js';
import { show } from '../shell/value.js';
import type { ScriptAction } from '../types.js';

export interface AlternativeRequest {
  readonly package: string;
  readonly link: string;
  readonly name: string;
  readonly path: string;
  readonly priority: number;
  readonly slaves: readonly { readonly link: string; readonly name: string; readonly path: string }[];
}

export interface UnitRequest {
  readonly package: string;
  readonly unit: string;
  readonly user: boolean;
  /** deb-systemd-helper also records its state under /var/lib/systemd/deb-systemd-helper-enabled. */
  readonly viaHelper: boolean;
}

export interface AccountRequest {
  readonly package: string;
  readonly line: string;
  readonly kind: 'user' | 'group';
  readonly name: string;
  readonly uid?: number;
  readonly gid?: number;
  readonly gecos?: string;
  readonly home?: string;
  readonly shell?: string;
  /** Primary group of a user (a name); a user with createGroup gets its own. */
  readonly group?: string;
  readonly createGroup?: boolean;
}

export interface MembershipRequest {
  readonly package: string;
  readonly user: string;
  readonly group: string;
}

export interface Template {
  readonly name: string;
  readonly type: string;
  readonly default?: string;
  readonly choices?: string;
  readonly description?: string;
}

export class ScriptContext {
  package = '';
  readonly handled: ScriptAction[] = [];
  readonly unhandled: ScriptAction[] = [];
  readonly alternatives: AlternativeRequest[] = [];
  readonly units: UnitRequest[] = [];
  readonly accounts: AccountRequest[] = [];
  readonly memberships: MembershipRequest[] = [];
  readonly shells: { package: string; shell: string }[] = [];
  readonly diversions: Diversion[] = [];
  readonly statOverrides: StatOverride[] = [];
  readonly ucf: { package: string; path: string }[] = [];
  /** Post-install steps asked for by some script (pam-auth-update, update-ca-certificates, ...), by package. */
  readonly steps = new Map<string, string>();
  /** debconf: question → value, for the questions some script set. */
  readonly debconf = new Map<string, string>();
  /** Files bootforge writes itself after the scripts: script commands on them are superseded. */
  readonly claims: { readonly path: string; readonly note: string }[] = [];
  /** Path (as dpkg lists it, and canonical) → the packages that ship it, for dpkg -S. */
  owners = new Map<string, string[]>();
  /** Paths in /usr a script gave to an account created only at boot: their mode stays as packaged too. */
  readonly ownerAtBoot = new Set<string>();
  /** Paths in /etc and /var whose owner (an account created at boot) systemd-tmpfiles sets at boot. */
  readonly bootOwnership = new Map<string, { user?: string; group?: string; mode?: number }>();
  #temp = 0;

  constructor(
    readonly overlay: Overlay,
    /** Users and groups with known ids (base-passwd's masters), by name. */
    readonly users: ReadonlyMap<string, { uid: number; gid: number }>,
    readonly groups: ReadonlyMap<string, number>,
    readonly templates: ReadonlyMap<string, Template>,
    /** Directories of PATH, for `command -v` and `which`. */
    readonly path: readonly string[],
    readonly architecture: string,
  ) {}

  /** A command bootforge reproduced or that needs nothing; `note` says which. */
  done(inv: Invocation, note: string): void {
    this.handled.push({ package: this.package, line: lineOf(inv), note: qualified(inv, note) });
  }

  /** A command with an effect bootforge does not reproduce. */
  skipped(inv: Invocation, note: string): void {
    this.unhandled.push({ package: this.package, line: lineOf(inv), note: qualified(inv, note) });
  }

  /** The note of the claim on a path (or a path derived from it, "FILE.tmp", "FILE.dpkg-new"). */
  claimOf(path: string): string | undefined {
    const canonical = this.overlay.resolve(path, false)?.path ?? path;
    return this.claims.find((c) => [path, canonical].some((p) => p === c.path || p.startsWith(`${c.path}.`)))?.note;
  }

  /** A fresh name for mktemp. */
  tempPath(): string {
    this.#temp++;
    return `/tmp/bootforge-mktemp.${this.#temp}`;
  }

  uidOf(name: string): number | undefined {
    if (/^\d+$/.test(name)) return Number(name);
    return this.users.get(name)?.uid;
  }

  gidOf(name: string): number | undefined {
    if (/^\d+$/.test(name)) return Number(name);
    return this.groups.get(name);
  }

  /** Whether a user or group exists at this point of the install (known ids or created by an earlier script). */
  hasAccount(kind: 'user' | 'group', name: string): boolean {
    if (kind === 'user' && this.users.has(name)) return true;
    if (kind === 'group' && this.groups.has(name)) return true;
    return this.accounts.some(
      (a) => a.name === name && (a.kind === kind || (kind === 'group' && a.kind === 'user' && a.createGroup === true)),
    );
  }
}

/** The command as written; as run when what is written is only a parameter ("$@" in a wrapper function). */
function lineOf(inv: Invocation): string {
  return /^["']?\$/.test(inv.command.source) ? commandText(inv) : inv.command.source;
}

function qualified(inv: Invocation, note: string): string {
  if (inv.certain || note.includes('cannot evaluate')) return note;
  return `${note} (on a path that depends on something bootforge cannot evaluate)`;
}

/** A command line with unknown words shown as "?", for notes. */
export function commandText(inv: Invocation): string {
  return [inv.name, ...inv.args.map(show)].join(' ');
}

/** What a maintainer-script command does, as bootforge reproduces it. */
export type Handler = (inv: Invocation, ctx: ScriptContext) => Outcome;
