import { existsSync } from 'node:fs';
import { BootforgeError } from '../errors/index.js';
import { readAptSources, type AptSource } from './apt-sources.js';

/** Where a suite's packages come from and which keys sign it. */
export interface RepoSuite {
  readonly uri: string;
  readonly suite: string;
  readonly components: readonly string[];
  /** A keyring file, or an armored key block (from an inline Signed-By). */
  readonly keyring: { readonly path: string } | { readonly inline: string };
  /** How the URI was chosen, for messages and `--json` output. */
  readonly origin: string;
}

export interface RepoConfig {
  readonly suites: readonly RepoSuite[];
  readonly architecture: string;
  /** Signatures are not checked (hashes still are). Never the default. */
  readonly insecure: boolean;
}

export interface RepoInputs {
  readonly suites: readonly string[];
  readonly components: readonly string[];
  readonly architecture: string;
  readonly mirror?: { readonly flag?: string; readonly profile?: string };
  readonly securityMirror?: { readonly flag?: string; readonly profile?: string };
  readonly keyring?: { readonly flag?: string; readonly profile?: string };
  readonly insecure?: boolean;
  readonly env?: NodeJS.ProcessEnv;
  readonly aptDir?: string;
  /** The keyring used when nothing else names one (Debian's archive keyring). */
  readonly defaultKeyring?: string;
}

export const DEFAULT_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

const isSecurity = (suite: string): boolean => /-security$|\/updates$/.test(suite);

/** The security archive sits beside the main one on Debian's mirrors: .../debian → .../debian-security. */
export function securityUriFor(mirror: string): string {
  return `${mirror.replace(/\/+$/, '')}-security`;
}

/**
 * Resolution order for each suite's mirror: --mirror, BOOTFORGE_MIRROR, the
 * profile's packages.mirror, then the host's apt sources (the source that lists
 * the suite). Security suites take --security-mirror, BOOTFORGE_SECURITY_MIRROR,
 * packages.securityMirror, then "<mirror>-security" when a mirror was named, then
 * the host's apt sources. No host name is built in.
 */
export function resolveRepoConfig(inputs: RepoInputs): RepoConfig {
  const env = inputs.env ?? process.env;
  const explicitMirror = pick([
    [inputs.mirror?.flag, '--mirror'],
    [env.BOOTFORGE_MIRROR, 'BOOTFORGE_MIRROR'],
    [inputs.mirror?.profile, 'packages.mirror'],
  ]);
  const explicitSecurity = pick([
    [inputs.securityMirror?.flag, '--security-mirror'],
    [env.BOOTFORGE_SECURITY_MIRROR, 'BOOTFORGE_SECURITY_MIRROR'],
    [inputs.securityMirror?.profile, 'packages.securityMirror'],
  ]);
  const explicitKeyring = pick([
    [inputs.keyring?.flag, '--keyring'],
    [env.BOOTFORGE_KEYRING, 'BOOTFORGE_KEYRING'],
    [inputs.keyring?.profile, 'packages.keyring'],
  ]);
  let host: AptSource[] | undefined;
  const hostSources = (): AptSource[] => (host ??= readAptSources(inputs.aptDir));

  const suites = inputs.suites.map((suite): RepoSuite => {
    let uri: string | undefined;
    let origin: string | undefined;
    let signedBy: string | undefined;
    if (isSecurity(suite) && explicitSecurity) [uri, origin] = explicitSecurity;
    else if (isSecurity(suite) && explicitMirror)
      [uri, origin] = [securityUriFor(explicitMirror[0]), `${explicitMirror[1]} + "-security"`];
    else if (!isSecurity(suite) && explicitMirror) [uri, origin] = explicitMirror;
    else {
      const source = hostSources().find((s) => s.suites.includes(suite));
      if (source) {
        uri = source.uri;
        origin = `apt source ${source.from}`;
        signedBy = source.signedBy;
      }
    }
    if (uri === undefined || origin === undefined) {
      throw new BootforgeError('BF_NO_MIRROR', `no Debian mirror is configured for suite ${suite}`, {
        hint: `pass --mirror <url>, set BOOTFORGE_MIRROR, set packages.mirror in the profile, or add an apt source for ${suite} to /etc/apt/sources.list.d`,
      });
    }
    return {
      uri: uri.replace(/\/+$/, ''),
      suite,
      components: inputs.components,
      keyring: keyringFor(explicitKeyring, signedBy, suite, inputs.defaultKeyring ?? DEFAULT_KEYRING),
      origin,
    };
  });
  return { suites, architecture: inputs.architecture, insecure: inputs.insecure === true };
}

function pick(candidates: [string | undefined, string][]): [string, string] | undefined {
  const found = candidates.find(([v]) => v !== undefined && v !== '');
  return found as [string, string] | undefined;
}

function keyringFor(
  explicit: [string, string] | undefined,
  signedBy: string | undefined,
  suite: string,
  fallback: string,
): RepoSuite['keyring'] {
  if (explicit) return { path: explicit[0] };
  if (signedBy !== undefined) return signedBy.includes('BEGIN PGP') ? { inline: signedBy } : { path: signedBy };
  if (existsSync(fallback)) return { path: fallback };
  throw new BootforgeError('BF_NO_KEYRING', `no keyring to verify suite ${suite} with`, {
    hint: `pass --keyring <file>, set BOOTFORGE_KEYRING or packages.keyring, or install debian-archive-keyring (${fallback})`,
  });
}
