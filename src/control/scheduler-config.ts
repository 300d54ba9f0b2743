import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { defaultSchedulerSettings, parseSchedulerSettings, SchedulerConfigError, type SchedulerSettings } from '../scheduler/settings.js';

/** The server's `--scheduler-config FILE.yaml` (or GPUFLEET_SCHEDULER_CONFIG), read once at start-up. */
export async function loadSchedulerSettings(file: string | undefined): Promise<SchedulerSettings> {
  if (file === undefined) return defaultSchedulerSettings();
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new SchedulerConfigError(`cannot read the scheduler config ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new SchedulerConfigError(`${file} is not YAML: ${(err as Error).message}`);
  }
  return parseSchedulerSettings(doc, file);
}
