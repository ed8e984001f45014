import { type DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from '@parley/auth';
import { ChatModule } from '@parley/chat';
import type { ParleyConfig } from '@parley/config';
import { MediaApiModule, MediaJobsModule, MediaProxyModule } from '@parley/media';
import { RealtimeModule } from '@parley/realtime';
import { VoiceModule } from '@parley/voice';
import { CoreModule } from '../core.module';
import { apiDocsController } from '../openapi';
import { MicroservicesModule } from './microservices.module';
import type { Role } from './roles';

/**
 * One role of microservices mode: the same feature modules as the monolith, a subset per process, wired to
 * NATS, JetStream and Redis instead of the in-process transports.
 */
@Module({})
export class RoleModule {
  static forRole(role: Role, config: ParleyConfig): DynamicModule {
    const base = [CoreModule.forRoot(config), MicroservicesModule.forRole(role)];
    switch (role) {
      case 'api': {
        return {
          module: RoleModule,
          imports: [...base, AuthModule, ChatModule, MediaApiModule, VoiceModule],
          controllers: [apiDocsController()],
        };
      }
      case 'gateway':
        return { module: RoleModule, imports: [...base, RealtimeModule] };
      case 'queue':
        // The job handlers register themselves from the feature modules, exactly as in the monolith.
        return { module: RoleModule, imports: [...base, ChatModule, MediaJobsModule] };
      case 'media-proxy':
        return { module: RoleModule, imports: [...base, MediaProxyModule] };
    }
  }
}
