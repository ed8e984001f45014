import { type DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from '@parley/auth';
import { BusModule } from '@parley/bus';
import { ChatModule } from '@parley/chat';
import type { ParleyConfig } from '@parley/config';
import { MediaApiModule, MediaJobsModule, MediaProxyModule } from '@parley/media';
import { RealtimeModule } from '@parley/realtime';
import { WebClientModule } from '@parley/web';
import { VoiceModule } from '@parley/voice';
import { CoreModule } from './core.module';
import { apiDocsController } from './openapi';

/** The monolith: every role's modules in one process over in-process transports. */
@Module({})
export class ServerModule {
  static forRoot(config: ParleyConfig): DynamicModule {
    return {
      module: ServerModule,
      imports: [
        CoreModule.forRoot(config),
        BusModule,
        AuthModule,
        ChatModule,
        RealtimeModule,
        MediaApiModule,
        MediaProxyModule,
        MediaJobsModule,
        VoiceModule,
        WebClientModule,
      ],
      controllers: [apiDocsController()],
    };
  }
}
