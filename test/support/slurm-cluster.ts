import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, chmodSync, chownSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A real single-node Slurm (munged, slurmctld, slurmd, slurmrestd from Debian's packages) for tests,
 * after /work/shared/notes/slurm-on-one-machine.md. Everything lives in a temp folder: config,
 * state, spool, logs, the JWT key, the fake GPU device files and a munged of its own (its own socket,
 * so a machine's munged is neither needed nor touched). Every process gets SLURM_CONF pointing at
 * that folder's slurm.conf — slurmctld, slurmd, slurmrestd and scontrol all honour it — so /etc/slurm
 * is never written. Ports are picked free, so clusters of several test files never meet.
 * The packages are installed by `.ci/run`, not here; it needs root (slurmd runs jobs as root).
 */
export interface SlurmCluster {
  dir: string;
  nodeName: string;
  restUrl: string;
  userName: string;
  token: string;
  /** A folder jobs may write to; the executor's `outputDir`. */
  outputDir: string;
  /** Whether the GPU device files are character devices, so Slurm also sets CUDA_VISIBLE_DEVICES. */
  gpuDevicesAreCharDevices: boolean;
  stopRestd(): Promise<void>;
  startRestd(): Promise<void>;
  stop(): Promise<void>;
}

const sbinPath = `${process.env['PATH'] ?? ''}:/usr/local/sbin:/usr/sbin:/sbin`;
const packages = 'slurm-wlm slurmrestd munge';
const restdUser = 'gpufleet-slurmrestd';
const gpuCount = 8;

let started: Promise<SlurmCluster> | null = null;

/** One cluster per test file (vitest runs each file in its own process); later calls share it. */
export function startSlurmCluster(): Promise<SlurmCluster> {
  started ??= boot().catch((err: unknown) => {
    started = null;
    throw err;
  });
  return started;
}

async function boot(): Promise<SlurmCluster> {
  const t0 = Date.now();
  requireBinaries(['munged', 'slurmctld', 'slurmd', 'slurmrestd', 'scontrol', 'sinfo']);
  if (process.getuid?.() !== 0) throw new Error('the Slurm tests must run as root: slurmd runs jobs as their submitting user, and munged and slurmrestd need users of their own');

  const dir = mkdtempSync('/tmp/gpufleet-slurm-');
  chmodSync(dir, 0o755);
  const path = (...parts: string[]) => join(dir, ...parts);
  for (const sub of ['conf', 'state', 'spool', 'log', 'dev', 'munge', 'output']) mkdirSync(path(sub), { mode: 0o755 });
  chmodSync(path('output'), 0o777);
  const nodeName = hostname().split('.')[0]!;
  const [ctldPort, slurmdPort, restPort] = await freePorts(3);
  const procs: ChildProcess[] = [];
  const env = { ...process.env, PATH: sbinPath, SLURM_CONF: path('conf', 'slurm.conf') } as NodeJS.ProcessEnv;
  delete env['SLURM_JWT'];

  let restd: ChildProcess | null = null;
  const startRestdProcess = async (): Promise<ChildProcess> => {
    // SLURM_JWT=daemon makes slurmrestd pass each request's JWT to slurmctld instead of using munge.
    const restdEnv = { ...env, SLURM_JWT: 'daemon' };
    const child = launch('slurmrestd', ['-s', 'v0.0.38', '-a', 'rest_auth/jwt', `127.0.0.1:${restPort}`], restdEnv, path('log', 'slurmrestd.out'), await ensureSystemUser(restdUser));
    procs.push(child);
    await waitFor('slurmrestd answering', () => pingRest(cluster), 15_000, [child], dir);
    return child;
  };
  const cluster: SlurmCluster = {
    dir,
    nodeName,
    restUrl: `http://127.0.0.1:${restPort}`,
    userName: 'root',
    token: '',
    outputDir: path('output'),
    gpuDevicesAreCharDevices: await makeGpuDevices(path('dev')),
    async stopRestd() {
      await stopProcess(restd);
    },
    async startRestd() {
      restd = await startRestdProcess();
    },
    async stop() {
      process.removeListener('exit', killAll);
      await Promise.all(procs.map(stopProcess));
      rmSync(dir, { recursive: true, force: true });
      started = null;
    },
  };
  const killAll = () => procs.forEach((p) => p.exitCode === null && p.kill('SIGKILL'));
  process.on('exit', killAll);

  try {
    const munge = await ids('munge');
    chownSync(path('munge'), munge.uid, munge.gid);
    const mungeSocket = path('munge', 'munge.socket');
    procs.push(
      launch('munged', ['-F', `--socket=${mungeSocket}`, `--pid-file=${path('munge', 'munged.pid')}`, `--seed-file=${path('munge', 'seed')}`, '--log-file=/dev/null'], env, path('log', 'munged.out'), munge),
    );
    await waitFor('munged socket', () => exists(mungeSocket), 10_000, procs, dir);

    writeFileSync(path('jwt.key'), randomBytes(32), { mode: 0o600 });
    writeFileSync(path('conf', 'slurm.conf'), slurmConf({ dir, nodeName, ctldPort: ctldPort!, slurmdPort: slurmdPort!, mungeSocket }), { mode: 0o644 });
    writeFileSync(path('conf', 'gres.conf'), `NodeName=${nodeName} Name=gpu Type=h100 File=${path('dev')}/nvidia[0-${gpuCount - 1}]\n`, { mode: 0o644 });
    // slurmd and slurmstepd look for plugstack.conf beside slurm.conf.
    writeFileSync(path('conf', 'plugstack.conf'), '', { mode: 0o644 });

    procs.push(launch('slurmctld', ['-D', '-i'], env, path('log', 'slurmctld.out')));
    procs.push(launch('slurmd', ['-D'], env, path('log', 'slurmd.out')));
    await waitFor(
      `node ${nodeName} idle`,
      async () => (await run('sinfo', ['-h', '-n', nodeName, '-o', '%T'], { env }).catch(() => ({ stdout: '' }))).stdout.trim() === 'idle',
      30_000,
      procs,
      dir,
    );

    const minted = (await run('scontrol', ['token', 'username=root', 'lifespan=7200'], { env })).stdout.trim();
    cluster.token = minted.replace(/^SLURM_JWT=/, '');

    restd = await startRestdProcess();
    if (process.env['GPUFLEET_TEST_VERBOSE']) console.log(`slurm cluster up in ${Date.now() - t0} ms at ${dir}`);
    return cluster;
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

function slurmConf(c: { dir: string; nodeName: string; ctldPort: number; slurmdPort: number; mungeSocket: string }): string {
  const p = (name: string) => join(c.dir, name);
  return [
    `ClusterName=gpufleet-test`,
    `SlurmctldHost=${c.nodeName}`,
    `SlurmctldPort=${c.ctldPort}`,
    `SlurmdPort=${c.slurmdPort}`,
    'AuthType=auth/munge',
    `AuthInfo=socket=${c.mungeSocket}`,
    'AuthAltTypes=auth/jwt',
    `AuthAltParameters=jwt_key=${p('jwt.key')}`,
    'CredType=cred/munge',
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    'MpiDefault=none',
    'SchedulerType=sched/backfill',
    'SelectType=select/cons_tres',
    'SelectTypeParameters=CR_Core',
    'GresTypes=gpu',
    'ReturnToService=2',
    'SlurmUser=root',
    'SlurmdUser=root',
    `StateSaveLocation=${p('state')}`,
    `SlurmdSpoolDir=${p('spool')}`,
    `SlurmctldPidFile=${p('slurmctld.pid')}`,
    `SlurmdPidFile=${p('slurmd.pid')}`,
    `SlurmctldLogFile=${p('log/slurmctld.log')}`,
    `SlurmdLogFile=${p('log/slurmd.log')}`,
    // Finished jobs stay queryable long enough for every test to read their state.
    'MinJobAge=600',
    // Jobs end within a second of a cancel, not after the default 30 s.
    'KillWait=2',
    // The test machine may have 2 cores; claim more so several test jobs run at once.
    'SlurmdParameters=config_overrides',
    `NodeName=${c.nodeName} CPUs=16 RealMemory=1000 Gres=gpu:h100:${gpuCount} State=UNKNOWN`,
    `PartitionName=gpu Nodes=${c.nodeName} Default=YES MaxTime=INFINITE State=UP`,
    '',
  ].join('\n');
}

/** Character devices (major 195, as NVIDIA's) let Slurm set CUDA_VISIBLE_DEVICES; plain files only count. */
async function makeGpuDevices(dir: string): Promise<boolean> {
  let charDevices = true;
  for (let i = 0; i < gpuCount; i++) {
    const file = join(dir, `nvidia${i}`);
    try {
      await run('mknod', [file, 'c', '195', String(i)]);
    } catch {
      charDevices = false;
      closeSync(openSync(file, 'w'));
    }
  }
  return charDevices;
}

function requireBinaries(names: string[]): void {
  const missing = names.filter((name) => !sbinPath.split(':').some((d) => d && isExecutable(join(d, name))));
  if (missing.length > 0) {
    throw new Error(
      `the Slurm integration tests need ${missing.join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not installed; ` +
        `install Debian's packages: apt-get install -y ${packages} (.ci/run does this)`,
    );
  }
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function exists(file: string): boolean {
  try {
    accessSync(file);
    return true;
  } catch {
    return false;
  }
}

async function ids(user: string): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', user]), run('id', ['-g', user])]);
  return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
}

// slurmrestd refuses to run as root or as SlurmUser.
async function ensureSystemUser(user: string): Promise<{ uid: number; gid: number }> {
  try {
    return await ids(user);
  } catch {
    await run('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', user], { env: { PATH: sbinPath } }).catch((err: unknown) => {
      // Another test process may have created it meanwhile.
      if (!String(err).includes('already exists')) throw err;
    });
    return ids(user);
  }
}

function launch(command: string, args: string[], env: NodeJS.ProcessEnv, logFile: string, as?: { uid: number; gid: number }): ChildProcess {
  const out = openSync(logFile, 'a');
  const child = spawn(command, args, { env, stdio: ['ignore', out, out], ...(as ?? {}) });
  closeSync(out);
  child.on('error', () => {});
  return child;
}

async function stopProcess(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function pingRest(cluster: SlurmCluster): Promise<boolean> {
  try {
    const res = await fetch(`${cluster.restUrl}/slurm/v0.0.38/ping`, {
      headers: { 'X-SLURM-USER-NAME': cluster.userName, 'X-SLURM-USER-TOKEN': cluster.token },
      signal: AbortSignal.timeout(2000),
    });
    return res.ok;
  } catch {
    return false;
  }
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, procs: ChildProcess[], dir: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    const dead = procs.find((p) => p.exitCode !== null || p.signalCode !== null);
    if (dead) throw new Error(`${dead.spawnfile} exited (${dead.exitCode ?? dead.signalCode}) while waiting for ${what}\n${logTails(dir)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${logTails(dir)}`);
}

function logTails(dir: string): string {
  return ['munged.out', 'slurmctld.log', 'slurmd.log', 'slurmd.out', 'slurmrestd.out']
    .map((name) => {
      try {
        return `--- ${name}\n${readFileSync(join(dir, 'log', name), 'utf8').split('\n').slice(-15).join('\n')}`;
      } catch {
        return '';
      }
    })
    .join('\n');
}

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}
