import { describe, expect, it } from 'vitest';
import { gateAllows, kernelRelease, parseGate } from '../../../src/hardware/gate.js';

describe('kernel version gates', () => {
  it.each([
    ['<6.8', '6.1.0-28-amd64', true],
    ['<6.8', '6.8.0', false],
    ['<6.8', '6.8.12', false],
    ['>=6.5', '6.1.119', false],
    ['>=6.5', '6.5.0', true],
    ['>=6.1 <6.8', '6.1.0', true],
    ['>=6.1 <6.8', '6.7.9', true],
    ['>=6.1 <6.8', '6.10.1', false],
    ['=6.1', '6.1.99', true],
    ['>6.1', '6.1.5', false],
    ['>6.1.4', '6.1.5', true],
    ['<=6.1', '6.1.200', true],
    ['<6', '5.15.0', true],
    ['<6', '6.1.0', false],
  ])('%s against %s is %s', (gate, version, allowed) => {
    const clauses = parseGate(gate);
    expect(clauses).toBeDefined();
    expect(gateAllows(clauses ?? [], kernelRelease(version))).toBe(allowed);
  });
  it.each(['', 'before 6.8', '=>6.1', '<6.8.1.2', '6.8'])('refuses %j', (gate) =>
    expect(parseGate(gate)).toBeUndefined(),
  );
  it('reads Debian kernel versions', () => {
    expect(kernelRelease('6.1.0-28-amd64')).toEqual([6, 1, 0]);
    expect(kernelRelease('6.1.119-1')).toEqual([6, 1, 119]);
  });
});
