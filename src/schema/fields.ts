import { z } from 'zod';
import type { ErrorCode } from '../errors/index.js';
import { rule, show } from './rule.js';
import { formatSize, parseSize, SIZE_PATTERN } from './size.js';

// Field types shared by profiles and hardware descriptions. Each one's runtime
// check and its JSON Schema `pattern` say the same thing; the check exists to
// give a specific error code and message.

const SHELL_META = /[;|&$`<>\\'\n\r\0]/;
// C0 controls (line breaks, tab, escape), DEL and C1 controls.
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Text that is written into one line of a generated file (modprobe.d, udev rules, passwd) or
 * printed on a console: a control character could end its line and start one of its own, or
 * drive the terminal.
 */
export function oneLine(what: string, extra?: (v: string) => { code: ErrorCode; message: string } | undefined) {
  return rule(z.string(), 'BF_SHELL_META', (v) =>
    CONTROL_RE.test(v) ? `${what} ${show(v)} contains a control character (a line break, tab or escape)` : extra?.(v),
  ).meta({ pattern: '^[^\\u0000-\\u001f\\u007f-\\u009f]*$' });
}

/** The comment field of passwd (GECOS): one line, and no ":" (the field separator). */
export const gecos = oneLine('user description', (v) =>
  v.includes(':')
    ? { code: 'BF_INVALID_VALUE', message: `user description ${show(v)} contains ":", which separates passwd fields` }
    : undefined,
);

/** RFC 1123 host name; {{serial}}, {{vendor}}, {{product}} are filled from DMI at install time. */
export const HOSTNAME_PLACEHOLDERS = ['serial', 'vendor', 'product'] as const;
export function hostnameProblem(name: string): string | undefined {
  const unknown = /\{\{\s*([^}]*?)\s*\}\}/g;
  for (const m of name.matchAll(unknown)) {
    if (!(HOSTNAME_PLACEHOLDERS as readonly string[]).includes(m[1] ?? '')) {
      return `host name ${show(name)} uses the unknown placeholder {{${m[1] ?? ''}}}`;
    }
  }
  const filled = name.replace(/\{\{\s*[a-z]+\s*\}\}/g, 'x');
  if (filled.length === 0 || filled.length > 253) return `host name ${show(name)} must have 1 to 253 characters`;
  for (const label of filled.split('.')) {
    if (!/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label)) {
      return `host name ${show(name)} is not a valid RFC 1123 host name`;
    }
  }
  return undefined;
}
export const hostname = rule(z.string(), 'BF_HOSTNAME', hostnameProblem).meta({
  // Editors get the character set; the label rules are checked by hostnameProblem.
  pattern: '^([A-Za-z0-9.-]|\\{\\{ *(serial|vendor|product) *\\}\\})+$',
  maxLength: 253,
  description: 'RFC 1123 host name. {{serial}}, {{vendor}} and {{product}} are replaced with DMI values on the target.',
  examples: ['workstation', 'fw-{{serial}}'],
});

export const timezone = rule(z.string(), 'BF_TIMEZONE', (tz) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return /^[A-Za-z0-9_+\-/]+$/.test(tz) ? undefined : `unknown time zone ${show(tz)}`;
  } catch {
    return `unknown time zone ${show(tz)}`;
  }
}).meta({ description: 'IANA time zone name.', examples: ['Etc/UTC', 'Europe/Berlin'] });

const LOCALE_RE = /^(C|[a-z]{2,3}(_[A-Z]{2})?)\.UTF-8(@[a-z]+)?$/;
export const locale = rule(z.string(), 'BF_LOCALE', (l) =>
  LOCALE_RE.test(l) ? undefined : `locale ${show(l)} is not of the form language_COUNTRY.UTF-8`,
).meta({ pattern: LOCALE_RE.source, examples: ['C.UTF-8', 'en_US.UTF-8'] });

const KEYMAP_RE = /^[a-z0-9][A-Za-z0-9_-]*$/;
export const keymap = rule(z.string(), 'BF_INVALID_VALUE', (k) =>
  KEYMAP_RE.test(k) ? undefined : `keymap ${show(k)} is not a console keymap name`,
).meta({ pattern: KEYMAP_RE.source, examples: ['us', 'de-latin1', 'fr'] });

// Debian's adduser NAME_REGEX, with useradd's 32-character limit.
const ACCOUNT_RE = /^[a-z][a-z0-9_-]{0,31}$/;
export const accountName = rule(z.string(), 'BF_USERNAME', (n) =>
  ACCOUNT_RE.test(n) ? undefined : `${show(n)} is not a valid user or group name`,
).meta({ pattern: ACCOUNT_RE.source });

/** Debian policy 9.2.2: 1000-59999 are for regular accounts; everything else is reserved. */
export const FIRST_UID = 1000;
export const LAST_UID = 59999;
export const accountId = rule(z.number().int(), 'BF_RESERVED_UID', (id) =>
  id >= FIRST_UID && id <= LAST_UID
    ? undefined
    : `id ${id} is reserved; regular accounts use ${FIRST_UID}-${LAST_UID}`,
).meta({ minimum: FIRST_UID, maximum: LAST_UID });

const YESCRYPT_RE = /^\$y\$[./A-Za-z0-9]+\$[./A-Za-z0-9]{1,86}\$[./A-Za-z0-9]{43}$/;
const SHA512_RE = /^\$6\$(rounds=[0-9]{4,9}\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{86}$/;
const LOCKED_RE = /^[!*]+$/;
export const passwordHash = rule(
  z.string(),
  'BF_PLAINTEXT_PASSWORD',
  (h) => {
    if (YESCRYPT_RE.test(h) || SHA512_RE.test(h) || LOCKED_RE.test(h)) return undefined;
    if (h.startsWith('$')) return undefined; // a hash of another kind: BF_PASSWORD_HASH says more
    return 'hashedPassword holds clear text, not a password hash';
  },
  { redact: true },
).meta({
  description: 'yescrypt ($y$...) or sha512-crypt ($6$...) hash, as printed by `mkpasswd -m yescrypt`; "!" locks the password.',
  pattern: `${YESCRYPT_RE.source}|${SHA512_RE.source}|${LOCKED_RE.source}`,
});
const HASH_KINDS: ReadonlyMap<string, string> = new Map([
  ['1', 'md5-crypt'],
  ['5', 'sha256-crypt'],
  ['2a', 'bcrypt'],
  ['2b', 'bcrypt'],
  ['2y', 'bcrypt'],
  ['y', 'yescrypt'],
  ['6', 'sha512-crypt'],
]);
export const strongPasswordHash = rule(passwordHash, 'BF_PASSWORD_HASH', (h) => {
  if (!h.startsWith('$') || YESCRYPT_RE.test(h) || SHA512_RE.test(h)) return undefined;
  const kind = /^\$([^$]*)\$/.exec(h)?.[1] ?? '?';
  const name = HASH_KINDS.get(kind);
  return name === 'yescrypt' || name === 'sha512-crypt'
    ? `malformed ${name} hash`
    : `password hash of kind $${kind}$${name ? ` (${name})` : ''} is not accepted`;
}, { redact: true });

const SSH_KEY_RE =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) AAAA[A-Za-z0-9+/]+={0,3}( [^\n\r]*)?$/;
export const sshPublicKey = rule(z.string(), 'BF_SSH_KEY', (k) =>
  SSH_KEY_RE.test(k) ? undefined : 'not an SSH public key line ("<type> AAAA<base64> [comment]")',
).meta({ pattern: SSH_KEY_RE.source });

/** Linux's limits: a name of at most 255 bytes, a path of at most 4095 (PATH_MAX less its NUL). */
export const NAME_MAX = 255;
export const PATH_MAX = 4095;

/** An absolute path on the target, in normal form. */
export const TARGET_PATH_RE = /^(\/[^/\0\n]+)+$|^\/$/;
type PathCode = 'BF_RELATIVE_PATH' | 'BF_PATH_TRAVERSAL' | 'BF_SHELL_META' | 'BF_INVALID_VALUE';
export function targetPathProblem(p: string): { code: PathCode; message: string } | undefined {
  if (/[\0\n\r]/.test(p)) return { code: 'BF_SHELL_META', message: `path ${show(p)} contains a NUL or line break` };
  if (!p.startsWith('/')) return { code: 'BF_RELATIVE_PATH', message: `path ${show(p)} is relative` };
  const parts = p.split('/').slice(1);
  if (p !== '/' && parts.some((c) => c === '' || c === '.' || c === '..')) {
    return { code: 'BF_PATH_TRAVERSAL', message: `path ${show(p)} is not in normal form (empty, "." or ".." component)` };
  }
  return lengthProblem(p);
}

/** A path or one of its names longer than Linux accepts (shown cut short: it may be thousands of characters). */
function lengthProblem(p: string): { code: 'BF_INVALID_VALUE'; message: string } | undefined {
  const cut = (s: string) => (s.length > 40 ? `${show(s.slice(0, 40))}...` : show(s));
  const long = p.split('/').find((c) => Buffer.byteLength(c) > NAME_MAX);
  if (long !== undefined) {
    return { code: 'BF_INVALID_VALUE', message: `path component ${cut(long)} is longer than ${NAME_MAX} bytes` };
  }
  return Buffer.byteLength(p) > PATH_MAX
    ? { code: 'BF_INVALID_VALUE', message: `path ${cut(p)} is longer than ${PATH_MAX} bytes` }
    : undefined;
}

export const targetPath = rule(z.string(), 'BF_INVALID_VALUE', targetPathProblem).meta({
  pattern: TARGET_PATH_RE.source,
  maxLength: PATH_MAX,
  examples: ['/etc/motd'],
});

const MODE_RE = /^0?[0-7]{3,4}$/;
export const fileMode = rule(z.string(), 'BF_MODE', (m) =>
  MODE_RE.test(m) ? undefined : `mode ${show(m)} is not an octal mode`,
).meta({ pattern: MODE_RE.source, examples: ['0644', '0755', '0600'] });

const OWNER_RE = /^[a-z_][a-z0-9_-]*(:[a-z_][a-z0-9_-]*)?$/;
export const fileOwner = rule(z.string(), 'BF_OWNER', (o) =>
  OWNER_RE.test(o) ? undefined : `owner ${show(o)} is not of the form user or user:group`,
).meta({ pattern: OWNER_RE.source, examples: ['root:root', 'alice:alice'] });

/** Size in bytes after parsing; written as "512MiB", "20G", or 0. */
export const size = rule(z.union([z.string(), z.number()]), 'BF_SIZE', (s) =>
  parseSize(s) === undefined ? `cannot read size ${show(s)}` : undefined,
)
  .transform((s) => parseSize(s) ?? 0)
  .meta({ pattern: SIZE_PATTERN, examples: ['512MiB', '20GiB', '20G'] });

const MiB = 1024 ** 2;
const SECTOR = 512;

/**
 * A partition's size: whole 512-byte sectors (the installer gives sfdisk sectors), at least
 * `min` bytes and at most `max`; with `zeroMeansNone`, 0 leaves the partition out.
 */
export function partitionSize(what: string, min: number, max: number, zeroMeansNone = false) {
  return rule(size, 'BF_SIZE', (bytes) => {
    if (bytes === 0 && zeroMeansNone) return undefined;
    if (bytes % SECTOR !== 0) return `${what} of ${bytes} bytes is not a whole number of ${SECTOR}-byte sectors`;
    if (bytes < min) return `${what} of ${formatSize(bytes)} is smaller than ${formatSize(min)}, the least it can be`;
    if (bytes > max) return `${what} of ${formatSize(bytes)} is larger than ${formatSize(max)}, the most it can be`;
    return undefined;
  });
}

/**
 * The smallest FAT32 volume: 65525 clusters of one 512-byte sector, two FATs mapping them and the
 * reserved sectors make 66589 sectors (src/image/fat/geometry.ts), 32.5 MiB; whole MiB, as
 * partitions are aligned to them.
 */
export const MIN_ESP_SIZE = 33 * MiB;
/** FAT32 counts sectors in 32 bits. */
export const MAX_ESP_SIZE = 0xffffffff * SECTOR;
/** A floor under unit mistakes (1 B, 1 KiB); the installer checks the system's exact size on the target. */
export const MIN_ROOT_SIZE = 64 * MiB;
/** mkswap needs 10 pages; partitions are aligned to 1 MiB anyway. */
export const MIN_SWAP_SIZE = 1 * MiB;
/** Beyond any size the numbers stay exact in (2^53 bytes, 8 PiB). */
const MAX_SIZE = Number.MAX_SAFE_INTEGER - (Number.MAX_SAFE_INTEGER % SECTOR);

export const espSize = partitionSize('the ESP', MIN_ESP_SIZE, MAX_ESP_SIZE);
export const rootSize = partitionSize('the root partition', MIN_ROOT_SIZE, MAX_SIZE);
export const swapSize = partitionSize('swap', MIN_SWAP_SIZE, MAX_SIZE, true);

/** A value that ends up in generated shell, loader entries or unit names: must stay data. */
function plainToken(what: string, re: RegExp, extra?: (v: string) => string | undefined) {
  return rule(z.string(), 'BF_SHELL_META', (v) => {
    if (SHELL_META.test(v) || CONTROL_RE.test(v) || !re.test(v)) return `${what} ${show(v)} contains characters that are not allowed there`;
    return extra?.(v);
  }).meta({ pattern: re.source });
}

// Kernel parameters may carry a double-quoted value with spaces (param="a b"), as the kernel parses them.
const KERNEL_PARAM_RE = /^[A-Za-z0-9_.-]+(=([^\s"]*|"[^"]*"))?$/;
export const kernelParam = plainToken('kernel parameter', KERNEL_PARAM_RE);
// Module names, globs over names (snd_*), or modalias patterns (pci:v00008086d*).
const MODULE_RE = /^[A-Za-z0-9_*?:\-[\]]+$/;
export const moduleName = plainToken('module name', MODULE_RE);
const UNIT_RE = /^[A-Za-z0-9:_.@-]+$/;
export const unitName = plainToken('service name', UNIT_RE);

// Debian policy 5.6.1, with an optional version constraint: "name", "name=1.2-3", "name (>= 1.2)".
const PACKAGE_RE = /^[a-z0-9][a-z0-9+.-]+$/;
const PACKAGE_SPEC_RE = /^([^\s=(]+)\s*(=\s*[^\s]+|\(\s*(<<|<=|=|>=|>>)\s*[^\s)]+\s*\))?$/;
export const packageName = rule(z.string(), 'BF_PACKAGE_NAME', (p) =>
  PACKAGE_RE.test(p) ? undefined : `${show(p)} is not a valid Debian package name`,
).meta({ pattern: PACKAGE_RE.source });
export const packageSpec = rule(z.string(), 'BF_PACKAGE_NAME', (p) => {
  const m = PACKAGE_SPEC_RE.exec(p);
  if (!m) return `${show(p)} is not a package name with an optional version constraint`;
  return PACKAGE_RE.test(m[1] ?? '') ? undefined : `${show(m[1])} is not a valid Debian package name`;
}).meta({ examples: ['openssh-server', 'busybox-static (>= 1:1.35)', 'linux-image-amd64=6.1.0'] });

const ID_RE = /^[a-z0-9][a-z0-9_-]*[a-z0-9]$/;
export const hardwareId = rule(z.string(), 'BF_INVALID_VALUE', (id) =>
  ID_RE.test(id) ? undefined : `hardware id ${show(id)} must be lower-case letters, digits, "-" and "_"`,
).meta({ pattern: ID_RE.source, examples: ['framework-13-amd-7040'] });

const SUITE_RE = /^[a-z0-9][a-z0-9.\-/]*$/;
export const suiteName = plainToken('suite', SUITE_RE);
export const componentName = plainToken('component', /^[a-z0-9][a-z0-9-]*$/);

export const url = rule(z.string(), 'BF_INVALID_VALUE', (u) => {
  try {
    const parsed = new URL(u);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' || parsed.protocol === 'file:'
      ? undefined
      : `URL ${show(u)} must use http, https or file`;
  } catch {
    return `${show(u)} is not a URL`;
  }
}).meta({ format: 'uri' });

/** A path on the build host, relative to the file that names it. */
export const hostPath = rule(z.string(), 'BF_SHELL_META', (p) =>
  /[\0\n\r]/.test(p) ? `path ${show(p)} contains a NUL or line break` : lengthProblem(p),
).meta({ maxLength: PATH_MAX, description: 'Path on the build machine, relative to this file.' });
