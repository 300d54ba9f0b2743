import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultUrl, loadConfig, writeConfig } from './config.js';
import { CliError } from './errors.js';

let home: string;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'gpufleet-config-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('loadConfig', () => {
  it('uses the default URL and no token when there is no file', async () => {
    const config = await loadConfig({ GPUFLEET_HOME: home });
    expect(config).toEqual({ url: defaultUrl, token: undefined, path: join(home, 'config.yaml'), fileExists: false });
  });

  it('reads url and token from $GPUFLEET_HOME/config.yaml', async () => {
    await writeFile(join(home, 'config.yaml'), 'url: http://fleet.example:8080\ntoken: from-file\n');
    const config = await loadConfig({ GPUFLEET_HOME: home });
    expect(config.url).toBe('http://fleet.example:8080');
    expect(config.token).toBe('from-file');
    expect(config.fileExists).toBe(true);
  });

  it('lets GPUFLEET_URL and GPUFLEET_TOKEN override the file', async () => {
    await writeFile(join(home, 'config.yaml'), 'url: http://fleet.example:8080\ntoken: from-file\n');
    const env = { GPUFLEET_HOME: home, GPUFLEET_URL: 'http://other:7070', GPUFLEET_TOKEN: 'from-env' };
    expect(await loadConfig(env)).toMatchObject({ url: 'http://other:7070', token: 'from-env' });
    expect(await loadConfig({ GPUFLEET_HOME: home, GPUFLEET_TOKEN: 'from-env' })).toMatchObject({ url: 'http://fleet.example:8080', token: 'from-env' });
  });

  it('explains a broken file instead of failing obscurely', async () => {
    await writeFile(join(home, 'config.yaml'), 'url: [unclosed\n');
    await expect(loadConfig({ GPUFLEET_HOME: home })).rejects.toThrow(CliError);
    await writeFile(join(home, 'config.yaml'), 'url: not a url\n');
    await expect(loadConfig({ GPUFLEET_HOME: home })).rejects.toThrow(/url: must be a URL/);
  });
});

describe('writeConfig', () => {
  it('writes a file only its owner can read, creating the home directory', async () => {
    const env = { GPUFLEET_HOME: join(home, 'nested') };
    const path = await writeConfig(env, { url: 'http://127.0.0.1:7070', token: 'secret' });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readFile(path, 'utf8')).toBe('url: http://127.0.0.1:7070\ntoken: secret\n');
    expect(await loadConfig(env)).toMatchObject({ url: 'http://127.0.0.1:7070', token: 'secret', fileExists: true });
  });
});
