import { LineCounter, parseAllDocuments } from 'yaml';
import { parseManifest, type Manifest } from '../core/manifest.js';
import { CliError } from './errors.js';

export interface FileDocument {
  /** 1-based position in the file, as people count documents. */
  number: number;
  /** `document 2 (Queue research)`: what messages call it. */
  label: string;
  manifest: Manifest;
}

/**
 * Parses and validates every document of a manifest file before anything is applied: any YAML
 * error or invalid document fails the whole file, with every problem listed.
 */
export function readManifests(text: string, fileName: string): FileDocument[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const syntax = [...docs].flatMap((doc) => doc.errors).map((err) => {
    const { line, col } = lineCounter.linePos(err.pos[0]);
    return `${fileName}: line ${line}, column ${col}: ${err.message}`;
  });
  if (syntax.length > 0) throw new CliError(syntax[0]!, 1, syntax.slice(1));

  const valid: FileDocument[] = [];
  const problems: string[] = [];
  [...docs].forEach((doc, i) => {
    if (doc.contents === null) return;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      problems.push(`${fileName}: document ${i + 1}: ${(err as Error).message}`);
      return;
    }
    const label = documentLabel(i + 1, value);
    const parsed = parseManifest(value);
    if (parsed.ok) valid.push({ number: i + 1, label, manifest: parsed.manifest });
    else for (const issue of parsed.issues) problems.push(`${fileName}: ${label}: ${issue.path}: ${issue.message}`);
  });
  if (problems.length > 0) {
    const count = problems.length === 1 ? 'a problem' : `${problems.length} problems`;
    throw new CliError(`${fileName} has ${count}; nothing was applied`, 1, problems);
  }
  if (valid.length === 0) throw new CliError(`${fileName} holds no documents`);
  return valid;
}

function documentLabel(number: number, value: unknown): string {
  const { kind, metadata } = (typeof value === 'object' && value !== null ? value : {}) as { kind?: unknown; metadata?: { name?: unknown } };
  const name = typeof metadata === 'object' && metadata !== null ? metadata.name : undefined;
  const what = [kind, name].filter((part): part is string => typeof part === 'string').join(' ');
  return what ? `document ${number} (${what})` : `document ${number}`;
}
