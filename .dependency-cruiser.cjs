/**
 * The layers of ARCHITECTURE.md, enforced: a layer imports only from layers below it, only the
 * store touches a database driver, the scheduler does no I/O, executors never import each other.
 */
const layer = (name) => `^src/${name}/`;

module.exports = {
  forbidden: [
    { name: 'core-imports-nothing-of-ours', severity: 'error', from: { path: layer('core') }, to: { path: '^src/', pathNot: layer('core') } },
    {
      name: 'l1-imports-only-core',
      severity: 'error',
      from: { path: '^src/(store|observe|client)/' },
      to: { path: '^src/', pathNot: ['^src/core/', '^src/(store|observe|client)/'] },
    },
    { name: 'l1-siblings-stay-apart', severity: 'error', from: { path: layer('store') }, to: { path: '^src/(observe|client)/' } },
    { name: 'l1-siblings-stay-apart-2', severity: 'error', from: { path: layer('observe') }, to: { path: '^src/(store|client)/' } },
    { name: 'l1-siblings-stay-apart-3', severity: 'error', from: { path: layer('client') }, to: { path: '^src/(store|observe)/' } },
    { name: 'scheduler-is-pure', severity: 'error', from: { path: layer('scheduler') }, to: { path: '^src/', pathNot: ['^src/core/', '^src/scheduler/'] } },
    {
      name: 'scheduler-does-no-io',
      severity: 'error',
      from: { path: layer('scheduler') },
      to: { dependencyTypes: ['core'], path: '^(fs|net|http|https|child_process|dgram|dns|tls|worker_threads|node:.*)$' },
    },
    { name: 'executors-import-core-observe', severity: 'error', from: { path: layer('executors') }, to: { path: '^src/', pathNot: ['^src/(core|observe|executors)/'] } },
    {
      name: 'executors-never-import-each-other',
      severity: 'error',
      from: { path: '^src/executors/([^/]+)/' },
      to: { path: '^src/executors/([^/]+)/', pathNot: ['^src/executors/$1/'] },
    },
    { name: 'control-imports-l0-l2', severity: 'error', from: { path: layer('control') }, to: { path: '^src/(agent|gateway|simulate|cli|web)/' } },
    {
      name: 'agent-imports-core-observe-client-spi',
      severity: 'error',
      from: { path: layer('agent') },
      to: { path: '^src/', pathNot: ['^src/(core|observe|client|agent)/', '^src/executors/(spi|log-files)\\.ts$'] },
    },
    { name: 'gateway-imports-core-observe-client', severity: 'error', from: { path: layer('gateway') }, to: { path: '^src/', pathNot: ['^src/(core|observe|client|gateway)/'] } },
    { name: 'sim-model-imports-core-observe', severity: 'error', from: { path: layer('sim-model') }, to: { path: '^src/', pathNot: ['^src/(core|observe|sim-model)/'] } },
    { name: 'simulate-imports-core-scheduler', severity: 'error', from: { path: layer('simulate') }, to: { path: '^src/', pathNot: ['^src/(core|scheduler|simulate)/'] } },
    {
      name: 'cli-imports-client-core',
      severity: 'error',
      comment: 'Only the composition commands (server, agent, up, sim-model, gateway, simulate) may start the processes they are named for.',
      from: { path: layer('cli'), pathNot: '^src/cli/commands/(server|agent|up|sim-model|gateway|simulate)\\.ts$' },
      to: { path: '^src/', pathNot: ['^src/(core|client|cli)/'] },
    },
    {
      name: 'composition-commands-use-entry-points',
      severity: 'error',
      from: { path: '^src/cli/commands/(server|agent|up|sim-model|gateway|simulate)\\.ts$' },
      to: { path: '^src/', pathNot: ['^src/(core|client|cli)/', '^src/control/main\\.ts$', '^src/agent/main\\.ts$', '^src/sim-model/main\\.ts$', '^src/gateway/main\\.ts$', '^src/simulate/main\\.ts$', '^src/observe/'] },
    },
    { name: 'web-imports-client-core', severity: 'error', from: { path: layer('web') }, to: { path: '^src/', pathNot: ['^src/(core|client|web)/'] } },
    {
      name: 'only-store-touches-database-drivers',
      severity: 'error',
      from: { path: '^src/', pathNot: layer('store') },
      to: { path: 'node_modules/(pg|@electric-sql/pglite|kysely-pglite-dialect)/' },
    },
    { name: 'no-circular', severity: 'error', from: { path: '^src/' }, to: { circular: true } },
    { name: 'not-to-unresolvable', severity: 'error', from: {}, to: { couldNotResolve: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^dist/|\\.test\\.ts$)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
