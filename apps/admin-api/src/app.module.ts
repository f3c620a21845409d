import { randomUUID } from 'node:crypto';
import { Module } from '@nestjs/common';
import type { DynamicModule, MiddlewareConsumer, NestModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { AuthGuard, AuthModule } from '@odtp/auth';
import type { AuthSettings } from '@odtp/auth';
import { AppConfigModule } from '@odtp/config';
import type { AppConfig } from '@odtp/config';
import { DatabaseModule } from '@odtp/database';
import type { DatabaseHandle } from '@odtp/database';
import { LoggerModule } from 'nestjs-pino';
import { CollectionsHttpModule } from './collections/collections-http.module';
import { RateLimitGuard } from './common/rate-limit.guard';
import { RequestObserverMiddleware } from './common/request-observer.middleware';
import { HealthModule } from './health/health.module';
import { IntegrityHttpModule } from './integrity/integrity-http.module';
import { MigrationsHttpModule } from './migrations/migrations-http.module';
import { ObservabilityModule } from './observability.module';
import { SchemaHttpModule } from './schema/schema-http.module';

@Module({})
export class AppModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestObserverMiddleware).forRoutes('*path');
  }

  static forRoot(config: AppConfig, database: DatabaseHandle, auth: AuthSettings): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        AuthModule.forRoot(auth),
        ObservabilityModule,
        ScheduleModule.forRoot(),
        DatabaseModule.forHandle(database),
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.logLevel,
            genReqId: (req, res) => {
              const incoming = req.headers['x-request-id'];
              const id =
                typeof incoming === 'string' && /^[\w.-]{1,128}$/.test(incoming) ? incoming : randomUUID();
              res.setHeader('x-request-id', id);
              return id;
            },
            redact: {
              paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]'],
              censor: '[redacted]',
            },
            serializers: {
              req: (req: { id: string; method: string; url: string }) => ({
                id: req.id,
                method: req.method,
                url: req.url,
              }),
              res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
            },
          },
        }),
        HealthModule,
        SchemaHttpModule,
        MigrationsHttpModule,
        IntegrityHttpModule,
        CollectionsHttpModule,
      ],
      // Authentication first, then the rate limits of the authenticated key.
      providers: [
        { provide: APP_GUARD, useExisting: AuthGuard },
        { provide: APP_GUARD, useClass: RateLimitGuard },
      ],
    };
  }
}
