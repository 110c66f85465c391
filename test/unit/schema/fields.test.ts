import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { fat32Geometry } from '../../../src/image/fat/geometry.js';
import {
  accountName,
  espSize,
  fileMode,
  gecos,
  hostPath,
  MIN_ESP_SIZE,
  oneLine,
  rootSize,
  swapSize,
  targetPath,
  hostnameProblem,
  kernelParam,
  moduleName,
  packageSpec,
  sshPublicKey,
  strongPasswordHash,
  targetPathProblem,
  timezone,
} from '../../../src/schema/fields.js';
import { formatSize, parseSize } from '../../../src/schema/size.js';

/** The bootforge code a value gets from a field, or 'ok'. */
function verdict(schema: z.ZodType, value: unknown): string {
  const r = schema.safeParse(value);
  if (r.success) return 'ok';
  const issue = r.error.issues[0];
  return issue?.code === 'custom' ? String((issue.params as { bf?: string }).bf) : String(issue?.code);
}

// Real hashes of "bootforge" made with libxcrypt (python crypt.crypt).
const YESCRYPT = '$y$j9T$F5Jx5fExrKuPp53xLKQ..1$Fvk6ylNmKG5h9./RBvg2XckWhoPT/4FpvLxVdgWbzV7';
const SHA512 =
  '$6$saltsaltsalt$0zFtidD6VTkpIJDLoour./WfDdqOR/xRUJj/5XvukQYVTWGqXv1ciZSB219Teh0umUgZlbuCeqxRgdH2EYyQo.';

describe('host names (RFC 1123, with DMI placeholders)', () => {
  it.each(['a', 'web-1', 'ws-{{serial}}', 'a.b.c', 'x'.repeat(63), '{{vendor}}-{{product}}'])('accepts %s', (h) =>
    expect(hostnameProblem(h)).toBeUndefined(),
  );
  it.each(['-a', 'a-', 'a_b', 'x'.repeat(64), 'a..b', '', 'web$(reboot)', 'a b', 'ws-{{mac}}', "a'b", 'a\nb'])(
    'refuses %j',
    (h) => expect(hostnameProblem(h)).toBeDefined(),
  );
});

describe('sizes', () => {
  it.each([
    ['512MiB', 512 * 2 ** 20],
    ['20G', 20 * 2 ** 30],
    ['20GiB', 20 * 2 ** 30],
    ['1TB', 1e12],
    ['1.5GiB', 1.5 * 2 ** 30],
    ['0', 0],
    [0, 0],
    ['4 KiB', 4096],
  ] as const)('reads %j as %d bytes', (text, bytes) => expect(parseSize(text)).toBe(bytes));
  it.each(['512', '512 megs', '-1G', 'G', '1.2.3G', 512])('refuses %j', (text) => expect(parseSize(text)).toBeUndefined());
  it('formats sizes for people', () => {
    expect(formatSize(8 * 2 ** 30)).toBe('8 GiB');
    expect(formatSize(1536 * 2 ** 20)).toBe('1.5 GiB');
  });
});

describe('password hashes', () => {
  it.each([YESCRYPT, SHA512, '!', '*', '!*'])('accepts %s', (h) => expect(verdict(strongPasswordHash, h)).toBe('ok'));
  it('calls clear text clear text', () => expect(verdict(strongPasswordHash, 'hunter2')).toBe('BF_PLAINTEXT_PASSWORD'));
  it.each(['$1$saltsalt$qjXMvbEw8oaL.CzflDugX/', '$5$abc$def', '$2b$12$abcdefghijklmnopqrstuv', YESCRYPT.slice(0, -3)])(
    'refuses the weak or malformed hash %s',
    (h) => expect(verdict(strongPasswordHash, h)).toBe('BF_PASSWORD_HASH'),
  );
});

describe('names that end up in scripts stay data', () => {
  it.each(['quiet', 'console=ttyS0,115200', 'amdgpu.sg_display=0', 'foo="a b"', 'root=UUID=1234-ab'])(
    'kernel parameter %s is fine',
    (p) => expect(verdict(kernelParam, p)).toBe('ok'),
  );
  it.each(['a;b', 'a|b', '$(x)', '`x`', 'a\nb', "a'b", 'a b', 'x="unclosed'])('kernel parameter %j is refused', (p) =>
    expect(verdict(kernelParam, p)).toBe('BF_SHELL_META'),
  );
  it.each(['virtio_blk', 'snd_*', 'pci:v00008086d*'])('module %s is fine', (m) => expect(verdict(moduleName, m)).toBe('ok'));
  it.each(['a;b', 'a b', '$(x)'])('module %j is refused', (m) => expect(verdict(moduleName, m)).toBe('BF_SHELL_META'));
});

describe('other fields', () => {
  it.each(['root', 'alice', 'sys-admin_2', 'a'.repeat(32)])('user name %s is fine', (n) =>
    expect(verdict(accountName, n)).toBe('ok'),
  );
  it.each(['Alice', '1abc', 'a'.repeat(33), 'a b', '-a'])('user name %j is refused', (n) =>
    expect(verdict(accountName, n)).toBe('BF_USERNAME'),
  );
  it.each(['0644', '644', '4755', '0600'])('mode %s is fine', (m) => expect(verdict(fileMode, m)).toBe('ok'));
  it.each(['0648', 'rw-r--r--', '77777', ''])('mode %j is refused', (m) => expect(verdict(fileMode, m)).toBe('BF_MODE'));
  it.each(['Etc/UTC', 'Europe/Berlin', 'America/Argentina/Buenos_Aires', 'UTC'])('time zone %s is fine', (t) =>
    expect(verdict(timezone, t)).toBe('ok'),
  );
  it.each(['openssh-server', 'g++', 'busybox-static (>= 1:1.35)', 'linux-image-amd64=6.1.0'])('package %s is fine', (p) =>
    expect(verdict(packageSpec, p)).toBe('ok'),
  );
  it('refuses ssh keys with trailing commands', () => {
    expect(verdict(sshPublicKey, 'ssh-ed25519 AAAAC3Nz; curl x | sh')).toBe('BF_SSH_KEY');
    expect(verdict(sshPublicKey, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIPp me@host')).toBe('ok');
  });
  it.each([
    ['/etc/motd', undefined],
    ['/', undefined],
    ['etc/motd', 'BF_RELATIVE_PATH'],
    ['/etc/../x', 'BF_PATH_TRAVERSAL'],
    ['/etc/./x', 'BF_PATH_TRAVERSAL'],
    ['/etc//x', 'BF_PATH_TRAVERSAL'],
    ['/etc/x\n', 'BF_SHELL_META'],
  ])('target path %j gives %s', (p, code) => expect(targetPathProblem(p)?.code).toBe(code));
});

// Issue 15: values that reach line-oriented files, consoles and the disk layout.
describe('values that must stay on one line', () => {
  it.each(['x=1\ninstall snd /bin/sh -c reboot', 'a\rb', 'a\u0000b', 'a\u001b[2Jb', 'tab\there', 'a\u009bb'])(
    'refuses %j',
    (v) => expect(verdict(oneLine('value'), v)).toBe('BF_SHELL_META'),
  );
  it.each(['power_save=0 power_save_controller=N', 'Grüße, naïve', ''])('accepts %j', (v) =>
    expect(verdict(oneLine('value'), v)).toBe('ok'),
  );
  it.each([
    ['x\n', 'BF_SHELL_META'],
    ['a\u0000', 'BF_SHELL_META'],
    ['a\u001b', 'BF_SHELL_META'],
    ['root:x:0:0', 'BF_INVALID_VALUE'],
  ])('refuses the user description %j (GECOS) with %s', (v, code) => expect(verdict(gecos, v)).toBe(code));
  it('keeps kernel parameters free of control characters inside quotes too', () => {
    expect(verdict(kernelParam, 'a="x\u001by"')).toBe('BF_SHELL_META');
    expect(verdict(kernelParam, 'a="x\ty"')).toBe('BF_SHELL_META');
  });
});

describe('path lengths (Linux: a name of 255 bytes, a path of 4095)', () => {
  it('refuses a 5,000-character component and an over-long path, showing them cut short', () => {
    const component = targetPathProblem(`/etc/${'a'.repeat(5000)}`);
    expect(component?.code).toBe('BF_INVALID_VALUE');
    expect(component?.message).toMatch(/^path component "a{40}"\.\.\. is longer than 255 bytes$/);
    expect(targetPathProblem(`/${'a/'.repeat(2048)}b`)?.message).toMatch(/longer than 4095 bytes/);
    expect(verdict(targetPath, `/${'é'.repeat(128)}`)).toBe('BF_INVALID_VALUE'); // 256 bytes
    expect(verdict(targetPath, `/${'a'.repeat(255)}`)).toBe('ok');
    expect(verdict(hostPath, `x/${'a'.repeat(256)}`)).toBe('BF_INVALID_VALUE');
  });
});

describe('partition sizes', () => {
  it('gives the ESP at least the smallest FAT32 volume, whole MiB', () => {
    let sectors = 1;
    while (!fat32Geometry(sectors)) sectors++;
    expect(MIN_ESP_SIZE).toBe(Math.ceil((sectors * 512) / 2 ** 20) * 2 ** 20);
  });
  it.each([
    [espSize, 0, 'BF_SIZE'],
    [espSize, '1KiB', 'BF_SIZE'],
    [espSize, '32MiB', 'BF_SIZE'],
    [espSize, '33MiB', 'ok'],
    [espSize, '100TiB', 'BF_SIZE'],
    [rootSize, '1B', 'BF_SIZE'],
    [rootSize, '0.3G', 'BF_SIZE'],
    [rootSize, '64MiB', 'ok'],
    [swapSize, 0, 'ok'],
    [swapSize, '4KiB', 'BF_SIZE'],
    [swapSize, '100TiB', 'ok'],
  ] as const)('%#: %j', (schema, value, expected) => expect(verdict(schema, value)).toBe(expected));
  it('states the bound in the message', () => {
    const r = espSize.safeParse('1KiB');
    expect(r.error?.issues[0]?.message).toBe('the ESP of 1 KiB is smaller than 33 MiB, the least it can be');
  });
});

describe('lookups keyed by user text', () => {
  it('names no JavaScript internals as a hash kind', () => {
    const r = strongPasswordHash.safeParse('$constructor$abc');
    expect(r.error?.issues[0]?.message).toBe('password hash of kind $constructor$ is not accepted');
  });
  it('reads no size unit from a prototype', () => expect(parseSize('1constructor')).toBeUndefined());
});
