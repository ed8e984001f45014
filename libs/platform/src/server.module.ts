import { type DynamicModule, Module } from '@nestjs/common';
import type { ParleyConfig } from '@parley/config';
import { WebClientModule } from '@parley/web';
import { CoreModule } from './core.module';
import { apiDocsController } from './openapi';
import { ROLE_PARTS } from './roles/parts';
import { ROLES } from './roles/roles';

/** The monolith: every role's parts (and the web client) in one process over in-process transports. */
@Module({})
export class ServerModule {
  static forRoot(config: ParleyConfig): DynamicModule {
    return {
      module: ServerModule,
      imports: [
        CoreModule.forRoot(config),
        ...new Set(ROLES.flatMap((role) => ROLE_PARTS[role])),
        WebClientModule,
      ],
      controllers: [apiDocsController()],
    };
  }
}
