export * from './auth.service';
export * from './auth.guard';
export * from './auth.module';
export * from './serializers';
export * from './tokens';
export * from './auth.controller';
export * from './mail';
