import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { nodeNameFromHostname } from './commands/agent.js';
import { envVariable, gpuSpec, integer, keyValue, port, wholeNumber } from './parsers.js';

describe('option parsers', () => {
  it('reads numbers strictly', () => {
    expect(wholeNumber('8')).toBe(8);
    expect(integer('-5')).toBe(-5);
    expect(port('0')).toBe(0);
    for (const bad of ['', '1.5', '2x', ' 3', '-1']) expect(() => wholeNumber(bad)).toThrow(InvalidArgumentError);
    expect(() => port('70000')).toThrow(/between 0 and 65535/);
  });

  it('accumulates KEY=VALUE pairs without sharing state between parses', () => {
    const first = keyValue('zone=a', undefined);
    expect(keyValue('rack=3', first)).toEqual({ zone: 'a', rack: '3' });
    expect(first).toEqual({ zone: 'a' });
    expect(envVariable('URL=http://x?a=b', undefined)).toEqual({ URL: 'http://x?a=b' });
    expect(() => keyValue('=x', undefined)).toThrow(/KEY=VALUE/);
    expect(() => envVariable('A-B=1', undefined)).toThrow(/not an environment variable name/);
  });

  it('checks simulated GPU specs before anything starts', () => {
    expect(gpuSpec('8xH100-80GB,2xA100-40GB')).toBe('8xH100-80GB,2xA100-40GB');
    expect(() => gpuSpec('H100')).toThrow(/COUNTxMODEL/);
  });
});

describe('nodeNameFromHostname', () => {
  it.each([
    ['gpu01', 'gpu01'],
    ['GPU-01.lab.example.com', 'gpu-01'],
    ['My_Box', 'my-box'],
    ['--weird--', 'weird'],
    ['', 'node'],
    ['a'.repeat(70), 'a'.repeat(63)],
  ])('%s → %s', (host, name) => {
    expect(nodeNameFromHostname(host)).toBe(name);
  });
});
