import { readCleartextMessage, verify, type Key } from 'openpgp';
import { BootforgeError } from '../errors/index.js';
import { field, parseStanzas } from './deb822.js';

/** What a verified InRelease says: when, until when, and the hash of every index it covers. */
export interface ReleaseInfo {
  readonly suite?: string;
  readonly codename?: string;
  readonly date: Date;
  readonly validUntil?: Date;
  readonly components: readonly string[];
  readonly architectures: readonly string[];
  readonly acquireByHash: boolean;
  /** Index path relative to dists/<suite>/ → size and SHA-256. */
  readonly files: ReadonlyMap<string, { readonly size: number; readonly sha256: string }>;
  /** Fingerprint of the key whose signature verified (undefined when insecure). */
  readonly signer?: string;
}

export interface VerifyOptions {
  readonly keys: readonly Key[];
  readonly now: Date;
  /** Where the file came from, for messages. */
  readonly source: string;
}

const BEGIN = '-----BEGIN PGP SIGNED MESSAGE-----';
const END = '-----END PGP SIGNATURE-----';

/**
 * Verifies an InRelease the way apt-secure does: the whole file must be one
 * clearsigned message (nothing before or after it), at least one signature must
 * come from a key in the keyring and verify (signatures by unknown keys are
 * ignored), and only the signed text is parsed. Then Date and Valid-Until are checked.
 */
export async function verifyInRelease(text: string, options: VerifyOptions): Promise<ReleaseInfo> {
  const trimmed = text.replace(/^\s+/, '').replace(/\s+$/, '');
  if (!trimmed.startsWith(BEGIN) || !trimmed.endsWith(END) || trimmed.indexOf(BEGIN, 1) >= 0) {
    throw new BootforgeError(
      'BF_REPO_SIGNATURE',
      `${options.source} is not a single clearsigned message: text outside the signed block is refused`,
      {
        hint: 'the mirror or something between it and you altered the file; try another mirror',
      },
    );
  }
  let message;
  try {
    message = await readCleartextMessage({ cleartextMessage: trimmed });
  } catch (cause) {
    throw new BootforgeError(
      'BF_REPO_SIGNATURE',
      `${options.source} cannot be read as a clearsigned message: ${(cause as Error).message}`,
      { cause },
    );
  }
  const result = await verify({ message, verificationKeys: [...options.keys], expectSigned: false });
  let signer: string | undefined;
  const problems: string[] = [];
  for (const sig of result.signatures) {
    try {
      await sig.verified;
      const key = options.keys.find((k) => k.getKeys(sig.keyID).length > 0);
      // openpgp accepts a signature made while the key was valid; apt (gpgv's EXPKEYSIG)
      // refuses a key that has expired since, and so do we.
      const expires = key ? await key.getExpirationTime() : null;
      if (expires instanceof Date && expires < options.now) {
        problems.push(`${sig.keyID.toHex().toUpperCase()}: the key expired on ${expires.toISOString()}`);
        continue;
      }
      signer = key?.getFingerprint().toUpperCase() ?? sig.keyID.toHex().toUpperCase();
      break;
    } catch (e) {
      problems.push(`${sig.keyID.toHex().toUpperCase()}: ${(e as Error).message}`);
    }
  }
  if (signer === undefined) {
    throw new BootforgeError(
      'BF_REPO_SIGNATURE',
      `${options.source} has no valid signature from a key in the keyring`,
      {
        hint: `signatures seen: ${problems.join('; ') || 'none'}. Check --keyring / Signed-By, or the mirror`,
      },
    );
  }
  return { ...parseRelease(message.getText(), options), signer };
}

/** Parses (already trusted) Release text and checks its dates. */
export function parseRelease(text: string, options: Pick<VerifyOptions, 'now' | 'source'>): ReleaseInfo {
  const stanza = parseStanzas(text)[0];
  if (!stanza) throw new BootforgeError('BF_REPO_INDEX', `${options.source} is empty`);
  const dateText = field(stanza, 'Date');
  const date = dateText === undefined ? undefined : new Date(dateText);
  if (date === undefined || Number.isNaN(date.getTime())) {
    throw new BootforgeError('BF_REPO_INDEX', `${options.source} has no readable Date`);
  }
  const untilText = field(stanza, 'Valid-Until');
  const validUntil = untilText === undefined ? undefined : new Date(untilText);
  if (validUntil !== undefined && (Number.isNaN(validUntil.getTime()) || validUntil < options.now)) {
    throw new BootforgeError(
      'BF_REPO_EXPIRED',
      `${options.source} expired at ${untilText ?? '?'} (Valid-Until); it is now ${options.now.toUTCString()}`,
      {
        hint: 'an expired Release can be a replay of old, vulnerable packages: use an up-to-date mirror, and check the clock',
      },
    );
  }
  // apt's "not valid yet": a Release from the future means a wrong clock or a forged file.
  const skewMs = 10 * 60 * 1000;
  if (date.getTime() - skewMs > options.now.getTime()) {
    throw new BootforgeError('BF_REPO_EXPIRED', `${options.source} is dated ${dateText ?? '?'}, in the future`, {
      hint: 'check the clock of this machine',
    });
  }
  const files = new Map<string, { size: number; sha256: string }>();
  for (const line of (field(stanza, 'SHA256') ?? '').split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 3) continue;
    const [sha256, size, path] = parts as [string, string, string];
    if (/^[0-9a-f]{64}$/.test(sha256) && /^\d+$/.test(size)) files.set(path, { sha256, size: Number(size) });
  }
  const words = (name: string) => (field(stanza, name) ?? '').split(/\s+/).filter((w) => w !== '');
  const suite = field(stanza, 'Suite');
  const codename = field(stanza, 'Codename');
  return {
    ...(suite !== undefined ? { suite } : {}),
    ...(codename !== undefined ? { codename } : {}),
    date,
    ...(validUntil !== undefined ? { validUntil } : {}),
    components: words('Components'),
    architectures: words('Architectures'),
    acquireByHash: (field(stanza, 'Acquire-By-Hash') ?? '').toLowerCase() === 'yes',
    files,
  };
}
