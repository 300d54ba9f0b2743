import { Option } from 'commander';

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function logLevelOption(defaultLevel = 'info'): Option {
  return new Option('--log-level <level>', 'least severe log level written').choices(logLevels).default(defaultLevel);
}
