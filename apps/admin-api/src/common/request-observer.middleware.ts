import { Injectable } from '@nestjs/common';
import type { NestMiddleware } from '@nestjs/common';
import type { AuthenticatedRequest } from '@odtp/auth';
import type { NextFunction, Response } from 'express';
import { AdminLogService, summarizeBody } from '../admin-log/admin-log.service';
import { MetricsService } from '../metrics/metrics.service';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * When a response is finished: count and time it (metrics), and record every mutating call in the admin
 * audit log with its outcome, including calls refused by authentication or rate limiting.
 */
@Injectable()
export class RequestObserverMiddleware implements NestMiddleware {
  constructor(
    private readonly metrics: MetricsService,
    private readonly adminLog: AdminLogService,
  ) {}

  use(req: AuthenticatedRequest, res: Response, next: NextFunction): void {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      this.metrics.observe(req.method, route, res.statusCode, seconds);
      if (!MUTATING.has(req.method)) return;
      this.adminLog.record({
        at: new Date(),
        keyId: req.principal?.keyId ?? null,
        role: req.principal?.role ?? null,
        method: req.method,
        route: route === 'unmatched' ? req.path.slice(0, 200) : route,
        params: { ...(req.params as Record<string, string>) },
        body: summarizeBody(req.body),
        status: res.statusCode,
        durationMs: Math.round(seconds * 1000 * 100) / 100,
        requestId:
          typeof (req as { id?: unknown }).id === 'string' ? ((req as { id?: unknown }).id as string) : null,
      });
    });
    next();
  }
}
