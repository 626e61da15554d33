/** Header values of an http step, with secrets read from files at call time. */

import { readFile } from 'node:fs/promises';
import type { HeaderValue } from '../../core/runbook.js';

/** Reads a secret file; the default reads it as UTF-8. */
export type ReadSecret = (file: string) => Promise<string>;

/** The headers to send, split so that secret ones can be kept off other origins and out of records. */
export interface ResolvedHeaders {
  /** Literal (templated) headers. */
  readonly plain: Readonly<Record<string, string>>;
  /** Headers whose value came from a file. */
  readonly secret: Readonly<Record<string, string>>;
  /** The secret values (file contents and whole header values), to scrub from anything recorded. */
  readonly secrets: readonly string[];
}

/** Thrown when a header's file cannot be read; the message names the header and file, never content. */
export class HeaderFileError extends Error {
  constructor(header: string, file: string, options: { cause: unknown }) {
    super(`cannot read the file ${file} of header ${header}`, options);
    this.name = 'HeaderFileError';
  }
}

/** The default ReadSecret: the file's text. */
export const readSecretFile: ReadSecret = (file) => readFile(file, 'utf8');

/** Resolves every header; a file's content is trimmed and put after its prefix. */
export async function resolveHeaders(
  headers: Readonly<Record<string, HeaderValue<string>>>,
  readSecret: ReadSecret = readSecretFile,
): Promise<ResolvedHeaders> {
  // No prototype, so a header named __proto__ is just a header.
  const plain = Object.create(null) as Record<string, string>;
  const secret = Object.create(null) as Record<string, string>;
  const secrets: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === 'string') {
      plain[name] = value;
      continue;
    }
    let content: string;
    try {
      content = (await readSecret(value.file)).trim();
    } catch (err) {
      throw new HeaderFileError(name, value.file, { cause: err });
    }
    secret[name] = `${value.prefix ?? ''}${content}`;
    secrets.push(content, secret[name]);
  }
  return { plain, secret, secrets };
}
