import type { IncomingMessage } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { AppLogger } from '@parley/observability';
import { CONNECTION_SLOTS, type ConnectionSlots, RATE_LIMITER, type RateLimiter } from '@parley/state';
import { clientAddressResolver } from './client-address';
import { GatewayMetrics } from './gateway.metrics';
import { GatewayCode, type GatewayCodeValue } from './protocol';

export interface RefusalData {
  code: number;
  message: string;
  /** Seconds until a retry can succeed (rate limits). */
  retry_after?: number;
}

/** An error for the handshake middleware: socket.io-client sees it as `connect_error` with `err.data`. */
export function refusal(
  code: GatewayCodeValue,
  message: string,
  retryAfterMs?: number,
): Error & { data: RefusalData } {
  const data: RefusalData = { code, message };
  if (retryAfterMs !== undefined) data.retry_after = Math.ceil(retryAfterMs / 100) / 10;
  return Object.assign(new Error(message), { data });
}

/**
 * Who may connect, beyond a valid token: handshakes per client address per window, and caps on the
 * connections a user and an address hold at once. State lives in the state library (memory in the monolith,
 * Redis in microservices), so the limits hold across gateway nodes. Off with `rate_limits.enabled: false`.
 */
@Injectable()
export class GatewayAdmission {
  /** The client's address, as `server.trust_proxy` says to read it. */
  readonly address: (req: IncomingMessage) => string;
  private readonly enabled: boolean;

  constructor(
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    @Inject(RATE_LIMITER) private readonly limiter: RateLimiter,
    @Inject(CONNECTION_SLOTS) private readonly slots: ConnectionSlots,
    private readonly metrics: GatewayMetrics,
    private readonly log: AppLogger,
  ) {
    this.address = clientAddressResolver(config.server.trust_proxy);
    this.enabled = config.rate_limits.enabled;
  }

  /** Counts one handshake from `address`; refuses it (4008 with `retry_after`) past `gateway.handshake_rate`. */
  async handshake(address: string): Promise<void> {
    if (!this.enabled) return;
    const decision = await this.shared(() =>
      this.limiter.consume(`gw:hs:${address}`, this.config.gateway.handshake_rate),
    );
    if (decision.allowed) return;
    this.metrics.rejected.inc({ reason: 'handshake_rate' });
    throw refusal(
      GatewayCode.RATE_LIMITED,
      'Too many connection attempts from this address; retry later',
      decision.resetAfterMs,
    );
  }

  /**
   * Takes a place for this connection under its user and its address; refuses it (4015, 4016) when either is
   * full. The answer gives the places back: call it once the connection ends, however it ends.
   */
  async claim(holder: string, userId: string, address: string): Promise<() => void> {
    if (!this.enabled) return () => undefined;
    const g = this.config.gateway;
    const byAddress = `gw:ip:${address}`;
    const byUser = `gw:user:${userId}`;
    if (!(await this.shared(() => this.slots.claim(byAddress, holder, g.max_connections_per_ip)))) {
      this.metrics.rejected.inc({ reason: 'max_connections_per_ip' });
      throw refusal(
        GatewayCode.TOO_MANY_ADDRESS_CONNECTIONS,
        `This address already holds ${g.max_connections_per_ip} gateway connections`,
      );
    }
    let user = false;
    try {
      user = await this.shared(() => this.slots.claim(byUser, holder, g.max_sessions_per_user));
    } finally {
      if (!user) this.slots.release(byAddress, holder);
    }
    if (!user) {
      this.metrics.rejected.inc({ reason: 'max_sessions_per_user' });
      throw refusal(
        GatewayCode.TOO_MANY_SESSIONS,
        `This account already has ${g.max_sessions_per_user} connected sessions; close one first`,
      );
    }
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.slots.release(byAddress, holder);
      this.slots.release(byUser, holder);
    };
  }

  /** A shared store (Redis) that cannot answer refuses the handshake: limits are never skipped. */
  private async shared<T>(read: () => T | Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (err) {
      this.log.warn({ err }, 'gateway limits unavailable');
      this.metrics.rejected.inc({ reason: 'limits_unavailable' });
      throw refusal(GatewayCode.UNKNOWN_ERROR, 'The gateway is temporarily unavailable; reconnect shortly');
    }
  }
}
