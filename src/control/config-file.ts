import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { ApiError } from '../core/errors.js';

export class ConfigFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigFileError';
  }
}

/** Reads a YAML (or JSON) file given on the command line and validates it; a bad file stops the server with the file and field named. */
export async function loadConfigFile<T>(file: string, what: string, validate: (doc: unknown) => T | Promise<T>): Promise<T> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigFileError(`cannot read the ${what} ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ConfigFileError(`${file} is not YAML: ${(err as Error).message}`);
  }
  try {
    return await validate(doc ?? {});
  } catch (err) {
    if (err instanceof ApiError) throw new ConfigFileError(`${file}: ${err.message}`);
    throw err;
  }
}
