import { Injectable } from '@nestjs/common';
import type { NestMiddleware } from '@nestjs/common';
import type { AuthenticatedRequest } from '@odtp/auth';
import type { NextFunction, Response } from 'express';
import { AdminLogService, summarizeBody } from '../admin-log/admin-log.service';
import { MetricsService } from '../metrics/metrics.service';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * When a response is finished: count and time it (metrics), and record in the admin audit log every mutating call
 * an API key made to a route of the API, with its outcome (403 and 429 included). Calls without a valid key and
 * paths that match no route never reach the database: anyone could grow it without bound (they count in
 * odtp_auth_failures_total and a rate-limited log line instead).
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
      if (!MUTATING.has(req.method) || !req.principal || route === 'unmatched') return;
      this.adminLog.record({
        at: new Date(),
        keyId: req.principal.keyId,
        role: req.principal.role,
        method: req.method,
        route,
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
