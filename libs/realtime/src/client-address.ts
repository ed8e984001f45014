import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/** `server.trust_proxy`: nobody, every hop, a hop count, or the proxies' addresses and CIDRs. */
export type TrustProxy = boolean | number | readonly string[];

// Names fastify's trust list accepts for well-known ranges.
const NAMED_RANGES: Record<string, Array<[string, number, 'ipv4' | 'ipv6']>> = {
  loopback: [
    ['127.0.0.0', 8, 'ipv4'],
    ['::1', 128, 'ipv6'],
  ],
  linklocal: [
    ['169.254.0.0', 16, 'ipv4'],
    ['fe80::', 10, 'ipv6'],
  ],
  uniquelocal: [
    ['10.0.0.0', 8, 'ipv4'],
    ['172.16.0.0', 12, 'ipv4'],
    ['192.168.0.0', 16, 'ipv4'],
    ['fc00::', 7, 'ipv6'],
  ],
};

function family(address: string): 'ipv4' | 'ipv6' {
  return isIP(address) === 6 ? 'ipv6' : 'ipv4';
}

/** `::ffff:1.2.3.4` is 1.2.3.4: one client, one key. */
function plain(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

function trustedList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const named = NAMED_RANGES[entry];
    if (named) for (const [net, prefix, type] of named) list.addSubnet(net, prefix, type);
    else if (entry.includes('/')) {
      const [net, prefix] = entry.split('/');
      list.addSubnet(net, Number(prefix), family(net));
    } else list.addAddress(entry, family(entry));
  }
  return list;
}

/**
 * Who the client is, as the HTTP edge decides it from `server.trust_proxy`: the socket's peer, or an
 * `X-Forwarded-For` entry that a trusted proxy vouched for. Limits per address key on this.
 */
export function clientAddressResolver(trust: TrustProxy): (req: IncomingMessage) => string {
  const list = Array.isArray(trust) ? trustedList(trust) : null;
  return (req) => {
    const peer = plain(req.socket.remoteAddress ?? '');
    if (trust === false) return peer;
    const header = req.headers['x-forwarded-for'];
    const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
      .split(',')
      .map((a) => plain(a.trim()))
      .filter((a) => isIP(a) !== 0);
    // Nearest first: the peer, then each proxy's view of who connected to it.
    const chain = [peer, ...forwarded.reverse()];
    if (trust === true) return chain[chain.length - 1];
    if (typeof trust === 'number') return chain[Math.min(trust, chain.length - 1)];
    let i = 0;
    while (i < chain.length - 1 && list?.check(chain[i], family(chain[i]))) i++;
    return chain[i];
  };
}
