/** OpenSSH known_hosts files: parsing plain and hashed entries, and deciding whether a presented host key is the pinned one. */

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { patternListMatches } from './host-glob.js';

/** Which hosts an entry is for: a hashed name (`|1|salt|hmac`) or a comma-separated pattern list. */
export type HostSelector =
  | { readonly kind: 'hashed'; readonly salt: Buffer; readonly hash: Buffer }
  | { readonly kind: 'patterns'; readonly patterns: readonly string[] };

/** One usable line of a known_hosts file. */
export interface KnownHostEntry {
  /** 1-based line number, for messages. */
  readonly line: number;
  /** `@revoked` keys are refused for the hosts the entry names. */
  readonly revoked: boolean;
  readonly hosts: HostSelector;
  /** The key type named by the key blob itself (ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa...). */
  readonly keyType: string;
  /** The public key in SSH wire format, as the server presents it. */
  readonly key: Buffer;
}

/** A line that was skipped, and why (malformed, or an unsupported marker such as `@cert-authority`). */
export interface SkippedLine {
  readonly line: number;
  readonly reason: string;
}

/** The parsed file: usable entries and the lines that were skipped. */
export interface KnownHosts {
  readonly entries: readonly KnownHostEntry[];
  readonly skipped: readonly SkippedLine[];
}

/** The verdict on a presented host key. */
export type HostKeyVerdict = 'match' | 'mismatch' | 'unknown' | 'revoked';

/** The type string at the head of an SSH wire-format public key, or null when the blob is malformed. */
export function keyBlobType(blob: Buffer): string | null {
  if (blob.length < 4) return null;
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || blob.length < 4 + length) return null;
  const type = blob.subarray(4, 4 + length).toString('latin1');
  return /^[\x21-\x7e]+$/.test(type) ? type : null;
}

/** The fingerprint OpenSSH prints: `SHA256:` and the unpadded base64 of the key blob's SHA-256. */
export function fingerprintSha256(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The name a known_hosts entry records for a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host.toLowerCase() : `[${host.toLowerCase()}]:${port}`;
}

function parseHosts(field: string): HostSelector | string {
  if (!field.startsWith('|')) return { kind: 'patterns', patterns: field.split(',').filter((p) => p !== '') };
  const parts = field.split('|');
  if (parts.length !== 4 || parts[1] !== '1') return 'unsupported hashed host format';
  const salt = Buffer.from(parts[2] ?? '', 'base64');
  const hash = Buffer.from(parts[3] ?? '', 'base64');
  return salt.length === 20 && hash.length === 20 ? { kind: 'hashed', salt, hash } : 'malformed hashed host';
}

function parseLine(text: string, line: number): KnownHostEntry | SkippedLine | null {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return null;
  const fields = trimmed.split(/\s+/);
  let revoked = false;
  if (fields[0]?.startsWith('@')) {
    const marker = fields.shift();
    if (marker === '@cert-authority') return { line, reason: '@cert-authority entries are not supported (certificates are not accepted)' };
    if (marker !== '@revoked') return { line, reason: `unknown marker ${marker ?? ''}` };
    revoked = true;
  }
  const [hostField, declaredType, keyField] = fields;
  if (hostField === undefined || declaredType === undefined || keyField === undefined) return { line, reason: 'expected hosts, key type and key' };
  const hosts = parseHosts(hostField);
  if (typeof hosts === 'string') return { line, reason: hosts };
  const key = Buffer.from(keyField, 'base64');
  const keyType = keyBlobType(key);
  if (keyType === null || keyType !== declaredType) return { line, reason: `key does not decode as ${declaredType}` };
  return { line, revoked, hosts, keyType, key };
}

/** Parses known_hosts text; comments, blank lines and unusable lines never make it fail. */
export function parseKnownHosts(text: string): KnownHosts {
  const entries: KnownHostEntry[] = [];
  const skipped: SkippedLine[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const parsed = parseLine(raw, i + 1);
    if (parsed === null) return;
    if ('key' in parsed) entries.push(parsed);
    else skipped.push(parsed);
  });
  return { entries, skipped };
}

/** True when the entry names this host (and port). */
export function entryMatchesHost(entry: KnownHostEntry, host: string, port: number): boolean {
  const name = knownHostsName(host, port);
  if (entry.hosts.kind === 'patterns') return patternListMatches(entry.hosts.patterns, name);
  const digest = createHmac('sha1', entry.hosts.salt).update(name).digest();
  return timingSafeEqual(digest, entry.hosts.hash);
}

/** The entries that name this host, revoked ones included. */
export function entriesFor(entries: readonly KnownHostEntry[], host: string, port: number): KnownHostEntry[] {
  return entries.filter((e) => entryMatchesHost(e, host, port));
}

/**
 * Decides on a presented key as OpenSSH does: a revoked key is refused whatever else matches;
 * a host with pinned keys but none equal to this one is a mismatch; a host with none is unknown.
 */
export function hostKeyMatches(entries: readonly KnownHostEntry[], host: string, port: number, keyBlob: Buffer): HostKeyVerdict {
  const mine = entriesFor(entries, host, port);
  if (mine.some((e) => e.revoked && e.key.equals(keyBlob))) return 'revoked';
  const pinned = mine.filter((e) => !e.revoked);
  if (pinned.length === 0) return 'unknown';
  return pinned.some((e) => e.key.equals(keyBlob)) ? 'match' : 'mismatch';
}
