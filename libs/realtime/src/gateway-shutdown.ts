import { Inject, Injectable } from '@nestjs/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import type { Socket as EngineSocket } from 'engine.io';
import type { Server } from 'socket.io';
import { InterestRouter } from './interest-router';
import { GatewayCode } from './protocol';
import { SessionRegistry } from './session-registry';
import { stateOf } from './socket-state';

/** Draining the gateway on SIGTERM: refuse new connections, tell every client to reconnect, close every socket. */
@Injectable()
export class GatewayShutdown {
  /** Set once draining began: handshakes are refused from then on. */
  closing = false;

  constructor(
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    private readonly registry: SessionRegistry,
    private readonly router: InterestRouter,
  ) {}

  async drain(io: Server): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const session of this.registry.all()) {
      // No offline presence: these users are about to reconnect to another node.
      this.registry.end(
        session,
        { code: GatewayCode.SERVER_SHUTDOWN, reason: 'server_shutdown', resumable: false, reconnect: true },
        false,
      );
    }
    for (const socket of io.of('/').sockets.values()) {
      stateOf(socket).conn?.close({
        code: GatewayCode.SERVER_SHUTDOWN,
        reason: 'server_shutdown',
        resumable: false,
        reconnect: true,
      });
    }
    this.router.clear();
    // Give clients a moment to read CLOSE; then whatever is left is cut so the HTTP server can close.
    const deadline = Date.now() + Math.min(2000, this.config.gateway.heartbeat_timeout);
    while (io.engine.clientsCount > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const client of Object.values(
      (io.engine as unknown as { clients: Record<string, EngineSocket> }).clients,
    )) {
      client.close(true);
      (client.transport as unknown as { socket?: { terminate?: () => void } }).socket?.terminate?.();
    }
    io.engine.close();
  }
}
