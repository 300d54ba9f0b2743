import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, fileDestination } from './logger.js';

describe('a logger writing to a file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gpufleet-logger-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // A process killed, or a file read, right after a line is written must find that line.
  it('has every line in the file as soon as it is written, in a folder it creates', () => {
    const path = join(dir, 'logs', 'lines.log');
    const logger = createLogger({ name: 'test', destination: fileDestination(path) });
    for (let i = 0; i < 5_000; i++) logger.info({ i }, 'line');
    logger.info('last');
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(5_001);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ msg: 'last' });
  });
});
