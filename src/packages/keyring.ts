import { readKeys, type Key } from 'openpgp';
import { BootforgeError } from '../errors/index.js';
import { readInput } from '../fsutil/read-input.js';
import type { RepoSuite } from './repo-config.js';

/** Reads a keyring: a binary one (/usr/share/keyrings/*.gpg) or an armored key block. */
export async function loadKeyring(ref: RepoSuite['keyring']): Promise<Key[]> {
  let bytes: Buffer;
  if ('inline' in ref) bytes = Buffer.from(ref.inline);
  else {
    bytes = readInput(ref.path, { kind: 'keyring' });
  }
  const armored = bytes.subarray(0, 64).toString('latin1').includes('-----BEGIN PGP');
  try {
    return armored ? await readKeys({ armoredKeys: bytes.toString('utf8') }) : await readKeys({ binaryKeys: bytes });
  } catch (cause) {
    const where = 'inline' in ref ? 'the inline Signed-By key' : ref.path;
    throw new BootforgeError('BF_BAD_KEYRING', `cannot read OpenPGP keys from ${where}: ${(cause as Error).message}`, {
      cause,
    });
  }
}
