import { Module } from '@nestjs/common';
import { AuthModule } from '@parley/auth';
import { ChatModule } from '@parley/chat';
import { GatewayMetrics } from './gateway.metrics';
import { GatewayServer } from './gateway.server';
import { InterestRouter } from './interest-router';
import { ReadyPresences } from './ready-presences';
import { VisibilityResolver } from './visibility';

/** The gateway role: socket.io sessions on the process's HTTP server, routed from the event bus. */
@Module({
  imports: [AuthModule, ChatModule],
  providers: [GatewayMetrics, VisibilityResolver, InterestRouter, ReadyPresences, GatewayServer],
  exports: [GatewayServer, InterestRouter],
})
export class RealtimeModule {}
