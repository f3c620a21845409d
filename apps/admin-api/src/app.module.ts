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
            // The server's id for every request (log lines, the admin audit log); a well-formed caller id is echoed
            // back and kept apart (callerRequestId), never taken as the server's.
            genReqId: (req, res) => {
              const id = randomUUID();
              const incoming = req.headers['x-request-id'];
              const caller =
                typeof incoming === 'string' && /^[\w.-]{1,128}$/.test(incoming) ? incoming : undefined;
              (req as { callerRequestId?: string }).callerRequestId = caller;
              res.setHeader('x-request-id', caller ?? id);
              return id;
            },
            redact: {
              paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]'],
              censor: '[redacted]',
            },
            serializers: {
              req: (req: {
                id: string;
                method: string;
                url: string;
                raw?: { callerRequestId?: string };
              }) => ({
                id: req.id,
                ...(req.raw?.callerRequestId ? { callerId: req.raw.callerRequestId } : {}),
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
