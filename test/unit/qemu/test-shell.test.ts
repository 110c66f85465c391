import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { BootforgeError } from '../../../src/errors/index.js';
import { toolPath } from '../../../src/exec/run.js';
import { SerialConsole } from '../../../src/qemu/console.js';
import { qemuArgs } from '../../../src/qemu/machine.js';
import { TestShell, type TestShellOptions } from '../../../src/qemu/test-shell.js';
import { renderTemplate } from '../../../src/templates/render.js';

// The real test shell (the rendered template) runs under the host's busybox sh, dash and
// bash, wired to a TestShell through pipes. What a serial console does to the stream is
// simulated on the way: the tty's echo and CR/LF translation, ^C turned into SIGINT for
// the shell's process group, and kernel messages printed between and inside lines. Under
// `script`, the same runs on a real pseudo-terminal.
const work = mkdtempSync(join(tmpdir(), 'bf-test-shell-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const SERVER = join(work, 'test-shell');
writeFileSync(SERVER, renderTemplate('generation/test-shell.sh.hbs', {}), { mode: 0o755 });
const CONSOLE = join(work, 'console');
writeFileSync(CONSOLE, renderTemplate('generation/console.sh.hbs', {}), { mode: 0o755 });

const works = (argv: readonly string[]) =>
  spawnSync(argv[0] ?? 'false', argv.slice(1), { stdio: 'ignore' }).status === 0;
const BUSYBOX = toolPath('busybox');
const SHELLS: readonly (readonly [string, readonly string[], boolean])[] = [
  ['busybox sh', [BUSYBOX, 'sh'], works([BUSYBOX, 'sh', '-c', 'true'])],
  ['dash', ['/usr/bin/dash'], existsSync('/usr/bin/dash')],
  ['bash', ['/bin/bash', '--posix'], existsSync('/bin/bash')],
];
const HAVE_SCRIPT = works(['script', '--version']);

/** What the wire between the shell and the driver does. */
interface Wire {
  /** The tty echoes what the driver sends (as if stty -echo had failed). */
  readonly echo?: boolean;
  /** The tty writes "\r\n" for "\n" (ONLCR). */
  readonly crlf?: boolean;
  /** ^C sends SIGINT to the shell's process group, as a tty with ISIG does for its foreground group. */
  readonly isig?: boolean;
  /** Rewrites each line (with its "\n") the shell prints: kernel messages go in here. */
  readonly garble?: (line: string) => string;
}

interface Running {
  readonly shell: TestShell;
  readonly console: SerialConsole;
  /** Everything the driver sent. */
  readonly sent: () => string;
  stop(): void;
}

const running: Running[] = [];
afterAll(() => running.forEach((r) => r.stop()));

function start(argv: readonly string[], wire: Wire = {}, options: TestShellOptions = {}): Running {
  const [cmd = 'sh', ...args] = argv;
  const child = spawn(cmd, [...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', SHELL: '/bin/sh' },
  });
  const out = new PassThrough();
  const put = (text: string) => out.write(wire.crlf ? text.replace(/\n/g, '\r\n') : text);
  let carry = '';
  child.stdout.on('data', (c: Buffer) => {
    const lines = (carry + c.toString('utf8')).split('\n');
    carry = lines.pop() ?? '';
    for (const l of lines) put(wire.garble ? wire.garble(`${l}\n`) : `${l}\n`);
  });
  child.stdout.on('end', () => {
    if (carry) put(carry);
    out.end();
  });
  let sent = '';
  const input = new Writable({
    write(chunk: Buffer, _enc, done) {
      let text = chunk.toString('utf8');
      sent += text;
      if (wire.isig && text.includes('\x03')) {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGINT');
        text = text.replaceAll('\x03', '');
      }
      if (wire.echo) put(text);
      if (child.stdin.writable) child.stdin.write(text, () => done());
      else done();
    },
  });
  child.stdin.on('error', () => undefined);
  const console = new SerialConsole(out, input);
  const shell = new TestShell(console, { quietMs: 1_000, interruptGraceMs: 2_000, pingAfterMs: 1_000, ...options });
  const r: Running = {
    shell,
    console,
    sent: () => sent,
    stop: () => {
      try {
        if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  };
  running.push(r);
  return r;
}

interface Case {
  readonly name: string;
  readonly command: string;
  readonly status?: number;
  readonly output: string | Buffer;
}

const LONG = 'x'.repeat(6000);
const MANY = Array.from({ length: 2000 }, (_, i) => `line ${i}\n`).join('');

const CASES: readonly Case[] = [
  { name: 'a plain command', command: 'echo hello', output: 'hello\n' },
  { name: 'quotes', command: `printf '%s|%s\\n' "it's" 'say "hi"'`, output: `it's|say "hi"\n` },
  { name: '$(...) and arithmetic', command: 'echo "$(echo inner) $((6 * 7))"', output: 'inner 42\n' },
  {
    name: 'newlines in the command',
    command: 'a=1\nif [ "$a" = 1 ]; then\n  echo one\nfi\necho two',
    output: 'one\ntwo\n',
  },
  { name: 'a here-document', command: "cat <<'EOF'\nline $HOME `x`\nEOF", output: 'line $HOME `x`\n' },
  {
    name: 'binary output',
    command: "printf '\\000\\001\\377\\r\\n\\033[0m'",
    output: Buffer.from([0, 1, 255, 13, 10, 27, 0x5b, 0x30, 0x6d]),
  },
  { name: 'stderr and a status', command: 'echo out; echo err >&2; exit 3', status: 3, output: 'out\nerr\n' },
  { name: 'stdin is /dev/null', command: 'cat; echo done', output: 'done\n' },
  {
    name: 'output that looks like the protocol',
    command: "echo 'bootforge-test: end 1 0 0 d41d8cd98f00b204e9800998ecf8427e'",
    output: 'bootforge-test: end 1 0 0 d41d8cd98f00b204e9800998ecf8427e\n',
  },
  { name: 'no output', command: 'true', output: '' },
  { name: 'UTF-8', command: "echo 'grüße 日本 🚀'", output: 'grüße 日本 🚀\n' },
  {
    name: 'many lines of output',
    command: 'i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i + 1)); done',
    output: MANY,
  },
  { name: 'a command longer than a tty line', command: `printf %s ${LONG} | wc -c | tr -d ' '`, output: '6000\n' },
];

async function runCases(r: Running): Promise<void> {
  await r.shell.waitReady(10_000);
  for (const c of CASES) {
    const result = await r.shell.execute(c.command, 20_000);
    expect.soft(result.status, c.name).toBe(c.status ?? 0);
    if (typeof c.output === 'string') expect.soft(result.output, c.name).toBe(c.output);
    else expect.soft(result.bytes.equals(c.output), c.name).toBe(true);
  }
}

/** Kernel-style lines the console prints between the shell's lines. */
function kernelLines(): (line: string) => string {
  let t = 0;
  return (line) => `${line}[ ${(++t).toFixed(6).padStart(11)}] virtio_blk virtio1: [vda] 16777216 512-byte blocks\n`;
}

const KERNEL = '[    2.000000] usb 1-1: new high-speed USB device number 2 using xhci_hcd\n';
/** What a program writing to /dev/console prints: no timestamp to tell it from the shell's text. */
const PROGRAM = 'bootforge: rc.sysinit: some /etc/fstab entries did not mount\n';

/** `text` printed into the middle of a line, once per command: its first output line, begin or end line. */
function midLine(where: 'data' | 'begin' | 'end', text: string): (line: string) => string {
  const seen = new Set<string>();
  let inFirstReply: string | undefined;
  const cut = (line: string) => {
    const at = Math.floor(line.length / 2);
    return `${line.slice(0, at)}${text}${line.slice(at)}`;
  };
  return (line) => {
    const begin = /^bootforge-test: begin (\d+)/.exec(line)?.[1];
    if (begin !== undefined) {
      const first = !seen.has(begin);
      seen.add(begin);
      inFirstReply = first ? begin : undefined;
      return first && where === 'begin' ? cut(line) : line;
    }
    if (inFirstReply !== undefined && line.startsWith('bootforge-test: end ')) {
      inFirstReply = undefined;
      return where === 'end' ? cut(line) : line;
    }
    if (inFirstReply !== undefined && where === 'data' && line.length > 8) {
      inFirstReply = undefined;
      return cut(line);
    }
    return line;
  };
}

describe('test shell over pipes', () => {
  for (const [name, argv, available] of SHELLS) {
    describe(name, () => {
      it('runs commands and returns their status and exact output', async (ctx) => {
        if (!available) ctx.skip(`${name} is not installed`);
        await runCases(start([...argv, SERVER]));
      });

      it('ignores kernel messages between lines, the echo and CR/LF', async (ctx) => {
        if (!available) ctx.skip(`${name} is not installed`);
        const r = start([...argv, SERVER], { echo: true, crlf: true, garble: kernelLines() });
        await runCases(r);
        expect(r.sent()).not.toContain('bf-again');
      });

      it.for(['data', 'begin', 'end'] as const)(
        'cuts a kernel message out of the middle of its %s line',
        async (where, ctx) => {
          if (!available) ctx.skip(`${name} is not installed`);
          const r = start([...argv, SERVER], { crlf: true, garble: midLine(where, KERNEL) });
          await r.shell.waitReady(10_000);
          expect(await r.shell.succeed('echo "some output"; echo more')).toBe('some output\nmore\n');
          expect(await r.shell.execute('printf abcdefghijkl; exit 7')).toMatchObject({
            status: 7,
            output: 'abcdefghijkl',
          });
          expect(r.sent()).not.toContain('bf-again');
        },
      );

      it.for(['data', 'begin', 'end'] as const)(
        'asks again for a reply garbled inside its %s line by a program writing to the console',
        async (where, ctx) => {
          if (!available) ctx.skip(`${name} is not installed`);
          const r = start([...argv, SERVER], { crlf: true, garble: midLine(where, PROGRAM) });
          await r.shell.waitReady(10_000);
          expect(await r.shell.succeed('echo "some output"; echo more')).toBe('some output\nmore\n');
          expect(await r.shell.execute('printf abcdefghijkl; exit 7')).toMatchObject({
            status: 7,
            output: 'abcdefghijkl',
          });
          expect(r.sent().match(/bf-again/g)?.length).toBe(2);
        },
      );

      it('interrupts a command that times out with ^C and goes on', async (ctx) => {
        if (!available) ctx.skip(`${name} is not installed`);
        const r = start([...argv, SERVER], { isig: true, crlf: true });
        await r.shell.waitReady(10_000);
        const t = performance.now();
        const e = await r.shell.execute('echo started; sleep 30', 500).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(BootforgeError);
        expect((e as BootforgeError).code).toBe('BF_BOOT_TEST');
        expect((e as BootforgeError).message).toMatch(/timed out after 0\.5 s and was interrupted \(exit status 130\)/);
        expect((e as BootforgeError).hint).toContain('started');
        expect(r.shell.busy).toBe(false);
        expect(await r.shell.succeed('echo after')).toBe('after\n');
        expect(performance.now() - t).toBeLessThan(10_000);
      });

      it('waits for a command that timed out and ignored ^C before the next one', async (ctx) => {
        if (!available) ctx.skip(`${name} is not installed`);
        const r = start([...argv, SERVER], {}, { interruptGraceMs: 200 });
        await r.shell.waitReady(10_000);
        await expect(r.shell.execute('sleep 2; echo late', 300)).rejects.toThrow(/did not stop on \^C/);
        expect(r.shell.busy).toBe(true);
        expect(await r.shell.succeed('echo next', 10_000)).toBe('next\n');
        expect(r.shell.busy).toBe(false);
      });
    });
  }

  it('succeed and fail check the status and show the output', async (ctx) => {
    if (!SHELLS[0]?.[2]) ctx.skip('busybox is not installed');
    const r = start([BUSYBOX, 'sh', SERVER]);
    await r.shell.waitReady(10_000);
    const e = await r.shell.succeed("echo 'no such thing' >&2; exit 4").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BootforgeError);
    expect((e as BootforgeError).message).toBe("command failed with exit status 4: echo 'no such thing' >&2; exit 4");
    expect((e as BootforgeError).hint).toContain('no such thing');
    expect(await r.shell.fail('echo nope; false')).toBe('nope\n');
    await expect(r.shell.fail('true')).rejects.toThrow('command succeeded but should have failed: true');
    // Calls made at once run one after the other.
    const all = await Promise.all([1, 2, 3].map((i) => r.shell.succeed(`echo ${i}`)));
    expect(all).toEqual(['1\n', '2\n', '3\n']);
  });

  it('asks for the ready line again when it was garbled', async (ctx) => {
    if (!SHELLS[0]?.[2]) ctx.skip('busybox is not installed');
    let first = true;
    const r = start([BUSYBOX, 'sh', SERVER], {
      garble: (line) => {
        if (first && line.startsWith('bootforge-test: ready')) {
          first = false;
          return 'bootforge-te[    1.5] x\nst: ready\n';
        }
        return line;
      },
    });
    await r.shell.waitReady(10_000);
    expect(r.sent()).toContain('bf-ping');
    expect(await r.shell.succeed('echo ok')).toBe('ok\n');
  });

  it('reports a guest that stops while a command runs', async (ctx) => {
    if (!SHELLS[0]?.[2]) ctx.skip('busybox is not installed');
    const r = start([BUSYBOX, 'sh', SERVER]);
    await r.shell.waitReady(10_000);
    const pending = r.shell.execute('sleep 30', 20_000);
    setTimeout(() => r.stop(), 200);
    await expect(pending).rejects.toThrow('the guest stopped while running: sleep 30');
  });
});

describe('test shell on a pseudo-terminal (script)', () => {
  for (const [name, argv, available] of SHELLS) {
    it(`${name}: echo off, CR/LF, tty lines, and ^C stops a command`, async (ctx) => {
      if (!available) ctx.skip(`${name} is not installed`);
      if (!HAVE_SCRIPT) ctx.skip('script (util-linux) is not installed');
      const r = start(['script', '-qfec', `${argv.join(' ')} ${SERVER}`, '/dev/null']);
      await runCases(r);
      await expect(r.shell.execute('sleep 30', 500)).rejects.toThrow(/interrupted \(exit status 130\)/);
      const flags = await r.shell.succeed(
        "stty -a </dev/tty 2>/dev/null | tr ' ;' '\\n\\n' | grep -x -e -echo -e echo",
      );
      expect(flags).toBe('-echo\n');
    });
  }
});

describe('console: test shell or login prompt', () => {
  /** A structure of the SMBIOS table: formatted area, then its strings, each ending with NUL. */
  const structure = (type: number, handle: number, formatted: number[], strings: string[]) =>
    Buffer.concat([
      Buffer.from([type, 4 + formatted.length, handle & 0xff, handle >> 8, ...formatted]),
      ...strings.map((s) => Buffer.from(`${s}\0`)),
      Buffer.from(strings.length === 0 ? [0, 0] : [0]),
    ]);
  const oem = (strings: string[]) => structure(11, 0x0b00, [strings.length], strings);
  const table = (strings: string[]) =>
    Buffer.concat([structure(1, 0x0100, [1, 2, 3, 0], ['QEMU', 'Standard PC', 'pc-q35']), oem(strings)]);

  let n = 0;
  /** Runs the console script with a fake root: its getty and test shell only print. */
  function runConsole(shell: readonly string[], args: readonly string[], files: Record<string, Buffer>): string {
    const root = join(work, `root${++n}`);
    mkdirSync(join(root, 'bin'), { recursive: true });
    mkdirSync(join(root, 'usr/lib/bootforge'), { recursive: true });
    writeFileSync(join(root, 'bin/getty'), '#!/bin/sh\necho "GETTY $*"\n', { mode: 0o755 });
    writeFileSync(join(root, 'usr/lib/bootforge/test-shell'), '#!/bin/sh\necho TEST-SHELL\n', { mode: 0o755 });
    // The guest has busybox's grep and tr, not GNU's.
    if (shell[0] === BUSYBOX) for (const tool of ['grep', 'tr']) symlinkSync(BUSYBOX, join(root, 'bin', tool));
    for (const [path, data] of Object.entries(files)) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), data);
      chmodSync(join(root, path), 0o400);
    }
    const [cmd = 'sh', ...rest] = shell;
    const r = spawnSync(cmd, [...rest, CONSOLE, ...args], {
      env: { BOOTFORGE_ROOT: root, PATH: '/usr/bin:/bin' },
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(r.stderr).toBe('');
    return r.stdout;
  }

  const DMI = 'sys/firmware/dmi/tables/DMI';
  const FLAG = 'io.bootforge.test-shell=1';
  const decisions: readonly (readonly [string, string, Record<string, Buffer>, 'test-shell' | 'login'])[] = [
    ['the flag alone', 'ttyS0', { [DMI]: table([FLAG]) }, 'test-shell'],
    ['the flag among others, /dev/ttyS0', '/dev/ttyS0', { [DMI]: table(['other', FLAG, 'more']) }, 'test-shell'],
    [
      'the flag in entries/11-0/raw',
      'ttyS0',
      { 'sys/firmware/dmi/entries/11-0/raw': oem(['x=1', FLAG]) },
      'test-shell',
    ],
    ['a longer value', 'ttyS0', { [DMI]: table([`${FLAG}0`]) }, 'login'],
    ['a longer key', 'ttyS0', { [DMI]: table([`x${FLAG}`]) }, 'login'],
    ['no OEM strings', 'ttyS0', { [DMI]: table([]) }, 'login'],
    ['no DMI tables', 'ttyS0', {}, 'login'],
    ['the flag, on a screen', 'tty1', { [DMI]: table([FLAG]) }, 'login'],
  ];

  for (const [name, argv, available] of SHELLS) {
    it(`${name}: the test shell on a serial tty only when the OEM string is there exactly`, (ctx) => {
      if (!available) ctx.skip(`${name} is not installed`);
      for (const [what, tty, files, expected] of decisions)
        expect.soft(runConsole(argv, ['--which', tty], files), what).toBe(`${expected}\n`);
    });
  }

  // busybox sh runs its own getty applet whatever PATH says: the stubs work with dash only.
  it('dash: runs the test shell, or getty -L 115200 <tty> vt100', (ctx) => {
    if (!existsSync('/usr/bin/dash')) ctx.skip('dash is not installed');
    for (const [what, tty, files, expected] of decisions) {
      const shown = tty.replace('/dev/', '');
      expect
        .soft(runConsole(['/usr/bin/dash'], [tty], files), what)
        .toBe(expected === 'test-shell' ? 'TEST-SHELL\n' : `GETTY -L 115200 ${shown} vt100\n`);
    }
  });
});

describe('qemuArgs', () => {
  it('passes OEM strings as one SMBIOS type 11 option, commas doubled', () => {
    const args = qemuArgs({ accel: 'tcg', oemStrings: ['io.bootforge.test-shell=1', 'a,b=c,'] });
    const i = args.lastIndexOf('-smbios');
    expect(args[i + 1]).toBe('type=11,value=io.bootforge.test-shell=1,value=a,,b=c,,');
    expect(args.filter((a) => a === '-smbios')).toHaveLength(1);
  });

  it('passes none when there are none', () => {
    expect(qemuArgs({ accel: 'tcg' })).not.toContain('-smbios');
    expect(qemuArgs({ accel: 'tcg', oemStrings: [] })).not.toContain('-smbios');
  });

  it('keeps type 1 and type 11 apart', () => {
    const args = qemuArgs({ accel: 'tcg', smbios: { system: { serial: 'S,1' } }, oemStrings: ['x'] });
    expect(args.join(' ')).toContain('-smbios type=1,serial=S,,1 -smbios type=11,value=x');
  });
});
