/** `ssh.allowHosts`: which hosts SSH steps may reach, by name glob or by the address the name resolves to. */

import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { toError } from '../../core/errors.js';
import { globMatch } from './host-glob.js';

/** Where to connect, or why not. */
export type AllowedHost =
  | { readonly ok: true; readonly address: string }
  | { readonly ok: false; readonly code: 'SSH_HOST_NOT_ALLOWED' | 'SSH_RESOLVE_FAILED'; readonly message: string };

interface AllowList {
  readonly blocks: BlockList;
  readonly hasBlocks: boolean;
  readonly globs: readonly string[];
}

function addCidr(blocks: BlockList, entry: string): boolean {
  const slash = entry.indexOf('/');
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const prefix = slash < 0 ? (family === 4 ? 32 : 128) : Number(entry.slice(slash + 1));
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) return false;
  blocks.addSubnet(address, prefix, type);
  return true;
}

/** Splits allowHosts into address ranges (CIDRs and literal addresses) and name globs. */
function compile(allowHosts: readonly string[]): AllowList {
  const blocks = new BlockList();
  const globs: string[] = [];
  let hasBlocks = false;
  for (const entry of allowHosts) {
    if (addCidr(blocks, entry)) hasBlocks = true;
    else globs.push(entry);
  }
  return { blocks, hasBlocks, globs };
}

function inBlocks(list: AllowList, address: string): boolean {
  const family = isIP(address);
  return list.hasBlocks && family !== 0 && list.blocks.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Builds the check once per config; each call resolves the host and says where to connect. */
export function createHostCheck(allowHosts: readonly string[]): (host: string) => Promise<AllowedHost> {
  const list = compile(allowHosts);
  return async (host) => {
    let addresses: string[];
    try {
      addresses = isIP(host) !== 0 ? [host] : (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch (thrown) {
      return { ok: false, code: 'SSH_RESOLVE_FAILED', message: `cannot resolve ${host}: ${toError(thrown).message}` };
    }
    const first = addresses[0];
    if (first === undefined) return { ok: false, code: 'SSH_RESOLVE_FAILED', message: `${host} resolves to no address` };
    if (allowHosts.length === 0) return { ok: true, address: first };
    // A name glob vouches for the name; otherwise every address it resolves to must be in range,
    // so a name cannot smuggle a connection to an address outside the list.
    if (list.globs.some((g) => globMatch(g, host))) return { ok: true, address: first };
    if (addresses.every((a) => inBlocks(list, a))) return { ok: true, address: first };
    return {
      ok: false,
      code: 'SSH_HOST_NOT_ALLOWED',
      message: `ssh to ${host} (${addresses.join(', ')}) refused: not in ssh.allowHosts`,
    };
  };
}
