import { describe, expect, it } from 'vitest';
import { ClientError } from '../client/http.js';
import { CliError, reportError, UsageError } from './errors.js';

describe('reportError', () => {
  it('tells how to start an unreachable server', () => {
    const err = new ClientError('cannot reach the gpufleet server at http://127.0.0.1:7070 (ECONNREFUSED)', 'unreachable', null);
    expect(reportError(err)).toEqual({
      lines: ['error: cannot reach the gpufleet server at http://127.0.0.1:7070 (ECONNREFUSED) — is it running? Start it with: npm run up'],
      exitCode: 1,
    });
  });

  it('tells how to log in when the token is refused', () => {
    expect(reportError(new ClientError('bad token', 'unauthenticated', 401)).lines).toEqual([
      'error: the server rejected the token (unauthenticated) — run: gpufleet login',
    ]);
  });

  it('lists every field of a validation error', () => {
    const err = new ClientError('invalid request: …', 'invalid_request', 400, {
      issues: [
        { path: 'gpus', message: 'Too big: expected number to be <=64' },
        { path: 'env.1A', message: 'must be an environment variable name' },
      ],
    });
    expect(reportError(err).lines).toEqual([
      'error: the server rejected the request (invalid_request):',
      '  gpus: Too big: expected number to be <=64',
      '  env.1A: must be an environment variable name',
    ]);
  });

  it('keeps usage errors at exit code 2 and hides stacks of expected failures', () => {
    expect(reportError(new UsageError('--url: "x" is not a URL'))).toEqual({ lines: ['error: --url: "x" is not a URL'], exitCode: 2 });
    expect(reportError(new CliError('f.yaml has a problem', 1, ['f.yaml: document 1: kind: …']))).toEqual({
      lines: ['error: f.yaml has a problem', 'f.yaml: document 1: kind: …'],
      exitCode: 1,
    });
    const inUse = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:7070'), { code: 'EADDRINUSE', port: 7070 });
    expect(reportError(inUse).lines).toEqual(['error: port 7070 is already in use — is gpufleet already running there?']);
  });
});
