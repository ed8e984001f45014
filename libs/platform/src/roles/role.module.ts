import { type DynamicModule, Module } from '@nestjs/common';
import type { ParleyConfig } from '@parley/config';
import { CoreModule } from '../core.module';
import { apiDocsController } from '../openapi';
import { ROLE_PARTS } from './parts';
import type { Role } from './roles';

/**
 * One role of microservices mode: the core every process has, wired to NATS, JetStream and Redis, and the
 * parts this role runs (see ROLE_PARTS).
 */
@Module({})
export class RoleModule {
  static forRole(role: Role, config: ParleyConfig): DynamicModule {
    return {
      module: RoleModule,
      imports: [CoreModule.forRoot(config, role), ...ROLE_PARTS[role]],
      controllers: role === 'api' ? [apiDocsController()] : [],
    };
  }
}
