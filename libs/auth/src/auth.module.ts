import { Global, Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { AUTH_SETTINGS, AuthGuard } from './auth.guard';
import type { AuthSettings } from './auth.guard';

/**
 * The API keys and the AuthGuard. The app installs the guard (APP_GUARD) itself, before its other guards, so that
 * rate limits count authenticated callers.
 */
@Global()
@Module({})
export class AuthModule {
  static forRoot(settings: AuthSettings): DynamicModule {
    return {
      module: AuthModule,
      providers: [{ provide: AUTH_SETTINGS, useValue: settings }, AuthGuard],
      exports: [AUTH_SETTINGS, AuthGuard],
    };
  }
}
