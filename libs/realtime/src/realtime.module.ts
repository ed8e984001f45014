import { Module } from '@nestjs/common';
import { AuthCoreModule } from '@parley/auth';
import { ChatCoreModule } from '@parley/chat';
import { DiscordGatewayServer } from './discord/discord-gateway.server';
import { MemberChunks } from './discord/member-chunks';
import { MemberLists } from './member-list/member-lists';
import { GatewayAdmission } from './gateway-admission';
import { GatewayMetrics } from './gateway.metrics';
import { GatewayShutdown } from './gateway-shutdown';
import { GatewayServer } from './gateway.server';
import { InboundCommands } from './inbound-commands';
import { InterestRouter } from './interest-router';
import { PresenceAnnouncer } from './presence-announcer';
import { PresenceSweeper } from './presence-sweeper';
import { ReadyGate } from './ready-gate';
import { ReadyPresences } from './ready-presences';
import { SessionRegistry } from './session-registry';
import { SessionResumption } from './session-resume';
import { VisibilityResolver } from './visibility';

/** The gateway role: socket.io sessions on the process's HTTP server, routed from the event bus. */
@Module({
  imports: [AuthCoreModule, ChatCoreModule],
  providers: [
    GatewayMetrics,
    VisibilityResolver,
    InterestRouter,
    ReadyPresences,
    ReadyGate,
    PresenceAnnouncer,
    PresenceSweeper,
    SessionRegistry,
    SessionResumption,
    InboundCommands,
    GatewayShutdown,
    GatewayAdmission,
    GatewayServer,
    MemberChunks,
    MemberLists,
    DiscordGatewayServer,
  ],
  exports: [GatewayServer, DiscordGatewayServer, InterestRouter],
})
export class RealtimeModule {}
