import type { IncomingMessage } from 'node:http';
import { clientAddressResolver } from './client-address';

function request(peer: string, forwardedFor?: string): IncomingMessage {
  return {
    socket: { remoteAddress: peer },
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  } as unknown as IncomingMessage;
}

describe('clientAddressResolver', () => {
  it('takes the peer when no proxy is trusted, whatever the client claims', () => {
    expect(clientAddressResolver(false)(request('::ffff:10.0.0.9', '6.6.6.6'))).toBe('10.0.0.9');
  });

  it('takes the furthest address when every hop is trusted', () => {
    expect(clientAddressResolver(true)(request('10.0.0.1', '6.6.6.6, 1.2.3.4'))).toBe('6.6.6.6');
    expect(clientAddressResolver(true)(request('10.0.0.1'))).toBe('10.0.0.1');
  });

  it('counts hops from the peer, so a forged entry further away is never chosen', () => {
    const resolve = clientAddressResolver(1);
    expect(resolve(request('10.0.0.1', '6.6.6.6, 1.2.3.4'))).toBe('1.2.3.4');
    expect(resolve(request('10.0.0.1'))).toBe('10.0.0.1');
  });

  it('skips trusted proxies by address, CIDR or range name and stops at the first other one', () => {
    const resolve = clientAddressResolver(['10.0.0.0/8', 'loopback', '2001:db8::1']);
    expect(resolve(request('127.0.0.1', '6.6.6.6, 1.2.3.4, 10.1.1.1'))).toBe('1.2.3.4');
    expect(resolve(request('2001:db8::1', '1.2.3.4'))).toBe('1.2.3.4');
    expect(resolve(request('192.168.1.1', '1.2.3.4'))).toBe('192.168.1.1');
  });
});
